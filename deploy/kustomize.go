package deploy

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// Kustomization is the part of kustomize's file format that lander uses.
type Kustomization struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Namespace  string   `yaml:"namespace"`
	Resources  []string `yaml:"resources"`
	Components []string `yaml:"components"`
	Images     []struct {
		Name    string `yaml:"name"`
		NewName string `yaml:"newName"`
		NewTag  string `yaml:"newTag"`
		Digest  string `yaml:"digest"`
	} `yaml:"images"`
}

// CheckKustomizations checks every kustomization.yaml under root: known
// fields only, a Kustomization or a Component, every resource and component
// exists inside the kustomization's folder tree (kustomize refuses files
// outside it), every manifest directly in a Kustomization's folder is listed
// (except the *.example.yaml templates), every Kustomization sets the same
// namespace, and every image override names an image that a manifest under
// root uses and pins it.
func CheckKustomizations(root string) []error {
	var errs []error
	var files []string
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "kustomization.yaml" {
			files = append(files, path)
		}
		return nil
	})
	if len(files) == 0 {
		return []error{fmt.Errorf("no kustomization.yaml under %s", root)}
	}
	ms, _ := LoadManifests(root)
	namespaces := map[string]string{}
	for _, path := range files {
		dir := filepath.Dir(path)
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
		}
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var k Kustomization
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&k); err != nil {
			bad("%v", err)
			continue
		}
		switch {
		case k.Kind == "Kustomization" && k.APIVersion == "kustomize.config.k8s.io/v1beta1":
			namespaces[path] = k.Namespace
		case k.Kind == "Component" && k.APIVersion == "kustomize.config.k8s.io/v1alpha1":
		default:
			bad("apiVersion/kind %s/%s", k.APIVersion, k.Kind)
		}
		listed := map[string]bool{}
		for _, r := range k.Resources {
			listed[filepath.Clean(r)] = true
			if strings.HasPrefix(filepath.Clean(r), "..") {
				bad("resource %s is outside the kustomization's folder", r)
			}
			if _, err := os.Stat(filepath.Join(dir, r)); err != nil {
				bad("resource %s: %v", r, err)
			}
		}
		for _, c := range k.Components {
			if _, err := os.Stat(filepath.Join(dir, c, "kustomization.yaml")); err != nil {
				bad("component %s: %v", c, err)
			}
		}
		if k.Kind == "Kustomization" {
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				n := e.Name()
				if e.IsDir() || filepath.Ext(n) != ".yaml" || n == "kustomization.yaml" || strings.HasSuffix(n, ".example.yaml") {
					continue
				}
				if !listed[n] {
					bad("%s is not listed in resources", n)
				}
			}
		}
		for _, img := range k.Images {
			used := false
			for _, m := range ms {
				for _, c := range podContainers(m) {
					if name, _, _ := strings.Cut(c.Image, ":"); name == img.Name {
						used = true
					}
				}
			}
			if !used {
				bad("images: %q is used by no manifest under %s", img.Name, root)
			}
			ref := img.Name
			if img.NewName != "" {
				ref = img.NewName
			}
			switch {
			case img.Digest != "":
				ref += "@" + img.Digest
			case img.NewTag != "":
				ref += ":" + img.NewTag
			}
			if err := CheckImagePinned(ref); err != nil {
				bad("images: %v", err)
			}
		}
	}
	first := ""
	for path, ns := range namespaces {
		if ns == "" {
			errs = append(errs, fmt.Errorf("%s: no namespace", path))
		} else if first == "" {
			first = ns
		} else if ns != first {
			errs = append(errs, fmt.Errorf("%s: namespace %q, others use %q", path, ns, first))
		}
	}
	return errs
}
