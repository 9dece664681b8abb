package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// Manifest is one decoded Kubernetes object and where it came from.
type Manifest struct {
	File string
	// Doc is the 1-based index of the YAML document in File.
	Doc  int
	Kind string
	Name string
	Obj  runtime.Object
}

func (m Manifest) String() string { return fmt.Sprintf("%s#%d %s/%s", m.File, m.Doc, m.Kind, m.Name) }

// The API groups lander's manifests may use; a kind outside them fails to
// decode, so a typo in apiVersion or kind is caught too.
var k8sDecoder = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme,
		autoscalingv2.AddToScheme, policyv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	// Strict: unknown and duplicate fields are errors, as with
	// kubectl apply --validate=strict.
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}()

// DecodeManifests decodes every document of a YAML stream strictly into the
// typed Kubernetes API objects: an unknown field, a field of the wrong type,
// a duplicate field or an unknown apiVersion/kind is an error.
func DecodeManifests(name string, r io.Reader) ([]Manifest, []error) {
	var out []Manifest
	var errs []error
	yr := utilyaml.NewYAMLReader(bufio.NewReader(r))
	for doc := 1; ; doc++ {
		b, err := yr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s#%d: %w", name, doc, err))
			break
		}
		if isEmptyYAML(b) {
			continue
		}
		obj, gvk, err := k8sDecoder.Decode(b, nil, nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s#%d: %w", name, doc, err))
			continue
		}
		meta, ok := obj.(metav1.Object)
		if !ok {
			errs = append(errs, fmt.Errorf("%s#%d: %s has no metadata", name, doc, gvk.Kind))
			continue
		}
		if meta.GetName() == "" {
			errs = append(errs, fmt.Errorf("%s#%d: %s has no metadata.name", name, doc, gvk.Kind))
		}
		out = append(out, Manifest{File: name, Doc: doc, Kind: gvk.Kind, Name: meta.GetName(), Obj: obj})
	}
	return out, errs
}

func isEmptyYAML(b []byte) bool {
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") && l != "---" {
			return false
		}
	}
	return true
}

// LoadManifests decodes every .yaml file under the paths (files or
// folders), except kustomization.yaml, which is not an API object.
func LoadManifests(paths ...string) ([]Manifest, []error) {
	var files []string
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			ext := filepath.Ext(path)
			if !d.IsDir() && (ext == ".yaml" || ext == ".yml") && d.Name() != "kustomization.yaml" {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, []error{err}
		}
	}
	sort.Strings(files)
	var all []Manifest
	var errs []error
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ms, es := DecodeManifests(f, bytes.NewReader(b))
		all = append(all, ms...)
		errs = append(errs, es...)
	}
	return all, errs
}

// CheckKubernetes loads the manifests under paths and checks them: strict
// decoding (LoadManifests), then CheckManifestSet.
func CheckKubernetes(paths ...string) []error {
	ms, errs := LoadManifests(paths...)
	if len(ms) == 0 && len(errs) == 0 {
		return []error{fmt.Errorf("no manifests under %v", paths)}
	}
	return append(errs, CheckManifestSet(ms)...)
}

// podContainers returns the containers of a workload's pod template, nil
// for a manifest of another kind.
func podContainers(m Manifest) []corev1.Container {
	switch o := m.Obj.(type) {
	case *appsv1.Deployment:
		return o.Spec.Template.Spec.Containers
	case *appsv1.StatefulSet:
		return o.Spec.Template.Spec.Containers
	case *appsv1.DaemonSet:
		return o.Spec.Template.Spec.Containers
	case *batchv1.Job:
		return o.Spec.Template.Spec.Containers
	}
	return nil
}
