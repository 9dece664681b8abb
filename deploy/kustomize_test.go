package deploy

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// TestKustomizeBuild renders each kustomization as "kubectl apply -k"
// would, with kustomize's own library, and checks what comes out: the
// strict typed decoding and CheckManifestSet over the server, the three
// jobs and the Secret that the README has the reader create by hand.
func TestKustomizeBuild(t *testing.T) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	var all []Manifest
	for _, root := range []string{"k8s", "k8s/jobs/index-shards", "k8s/jobs/index-finalize", "k8s/jobs/embed-gpu"} {
		rm, err := k.Run(filesys.MakeFsOnDisk(), root)
		if err != nil {
			t.Fatalf("kustomize build %s: %v", root, err)
		}
		y, err := rm.AsYaml()
		if err != nil {
			t.Fatalf("kustomize build %s: %v", root, err)
		}
		ms, errs := DecodeManifests(root+" (built)", bytes.NewReader(y))
		report(t, errs)
		if len(ms) == 0 {
			t.Fatalf("kustomize build %s rendered nothing", root)
		}
		for _, m := range ms {
			o, ok := m.Obj.(metav1.Object)
			if !ok {
				t.Fatalf("%s: no object metadata", m)
			}
			if ns := o.GetNamespace(); ns != "lander" && m.Kind != "Namespace" {
				t.Errorf("%s: namespace %q, want lander", m, ns)
			}
		}
		all = append(all, ms...)
	}
	b, err := os.ReadFile(filepath.Join("k8s", "secret.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	secret, errs := DecodeManifests("k8s/secret.example.yaml", bytes.NewReader(b))
	report(t, errs)
	report(t, CheckManifestSet(append(all, secret...)))
}
