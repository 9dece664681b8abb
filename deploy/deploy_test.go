package deploy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// composeEnv is what a user exports before "docker compose": the token is
// required by compose.yaml, the rest has defaults.
var composeEnv = map[string]string{"MERCH_TOKEN": "test-token"}

func report(t *testing.T, errs []error) {
	t.Helper()
	for _, err := range errs {
		t.Error(err)
	}
}

func TestKubernetesManifests(t *testing.T) {
	ms, errs := LoadManifests("k8s")
	report(t, errs)
	kinds := map[string]int{}
	for _, m := range ms {
		kinds[m.Kind]++
	}
	// The parts the deployment needs; a lost file would drop one.
	for kind, n := range map[string]int{
		"Deployment": 2, "Service": 2, "HorizontalPodAutoscaler": 1, "PodDisruptionBudget": 1,
		"ConfigMap": 1, "Secret": 1, "PersistentVolumeClaim": 2, "Job": 3, "Namespace": 1,
	} {
		if kinds[kind] != n {
			t.Errorf("%d %s manifests under k8s, want %d", kinds[kind], kind, n)
		}
	}
	report(t, CheckManifestSet(ms))
	report(t, CheckKustomizations("k8s"))
}

func TestKubernetesGoodTestdata(t *testing.T) {
	report(t, CheckKubernetes("testdata/good/k8s"))
}

// Every file under testdata/bad/k8s must be rejected for its own reason.
func TestKubernetesRejectsBad(t *testing.T) {
	want := map[string]string{
		"unknown-field.yaml":             `unknown field "spec.replica"`,
		"mistyped-field.yaml":            "containerPort",
		"unknown-kind.yaml":              "Deploymnet",
		"deployment-without-probes.yaml": "no readinessProbe",
		"probe-wrong-path-port.yaml":     `readinessProbe asks "/healthz", want /readyz`,
		"missing-secret.yaml":            `Secret "merch-token" is not in the set`,
		"service-selector-mismatch.yaml": "matches no Deployment's pods",
		"no-requests.yaml":               "no cpu request",
		"service-links.yaml":             "enableServiceLinks must be false",
		"unknown-lander-env.yaml":        "LANDER_MERCH_TOKEN: unknown setting",
		"bad-lander-config.yaml":         "field cache not found",
		"hpa-pdb-mismatch.yaml":          "scaleTargetRef apps/v1 Deployment/lander-server is no Deployment",
		"shard-count-mismatch.yaml":      "N must equal completions 8",
		"shard-without-index.yaml":       "needs --shard $(JOB_COMPLETION_INDEX)/N",
		"finalize-count-mismatch.yaml":   "--shards 2 but",
		"gpu-without-placement.yaml":     "no nodeSelector, affinity or toleration",
	}
	files, _ := filepath.Glob("testdata/bad/k8s/*.yaml")
	if len(files) != len(want) {
		t.Errorf("%d bad manifests, %d expectations", len(files), len(want))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			errs := CheckKubernetes(f)
			expectError(t, errs, want[filepath.Base(f)])
		})
	}
	// Each case fails for more than one reason only where its comment says so.
	if errs := CheckKubernetes("testdata/bad/k8s/hpa-pdb-mismatch.yaml"); !containsError(errs, "minAvailable 2 is not below the 2 replicas") {
		t.Errorf("the PDB that keeps every replica passed: %v", errs)
	}
	if errs := CheckKubernetes("testdata/bad/k8s/gpu-without-placement.yaml"); !containsError(errs, "uses latest") {
		t.Errorf("lander-embed:latest passed: %v", errs)
	}
}

func expectError(t *testing.T, errs []error, want string) {
	t.Helper()
	if want == "" {
		t.Fatalf("no expectation for this case; errors: %v", errs)
	}
	if len(errs) == 0 {
		t.Fatalf("accepted; want an error containing %q", want)
	}
	if !containsError(errs, want) {
		t.Errorf("no error contains %q; got:\n%v", want, errors.Join(errs...))
	}
}

func containsError(errs []error, s string) bool {
	for _, err := range errs {
		if strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}

func TestIndexedJobMatchesFinalize(t *testing.T) {
	// The README's step-by-step and the checks rely on these two files.
	for _, f := range []string{"k8s/jobs/index-shards/job.yaml", "k8s/jobs/index-finalize/job.yaml", "k8s/jobs/embed-gpu/job.yaml"} {
		if _, err := os.Stat(f); err != nil {
			t.Fatal(err)
		}
	}
	ms, errs := LoadManifests("k8s")
	report(t, errs)
	var shardN, finalizeN string
	for _, m := range ms {
		for _, c := range podContainers(m) {
			args := landerArgs(c)
			if v, ok := flagValue(args, "shard"); ok {
				shardN = v[strings.IndexByte(v, '/')+1:]
			}
			if v, ok := flagValue(args, "shards"); ok {
				finalizeN = v
			}
		}
	}
	if shardN == "" || shardN != finalizeN {
		t.Errorf("index-shards runs --shard .../%q, finalize --shards %q", shardN, finalizeN)
	}
}

func TestCompose(t *testing.T) {
	report(t, CheckCompose("compose.yaml", composeEnv))
	p, err := LoadCompose("compose.yaml", composeEnv)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"etcd", "minio", "milvus", "redis", "serve", "index"} {
		if _, ok := p.Services[name]; !ok {
			t.Errorf("compose.yaml has no service %s", name)
		}
	}
	serve := p.Services["serve"]
	cmd := strings.Join(serve.Command, " ")
	for _, want := range []string{"serve", "--milvus milvus:19530", "--redis redis:6379", "--config /etc/lander/lander.yaml"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("serve command %q lacks %q", cmd, want)
		}
	}
	if tok := serve.Environment["LANDER_SERVE_MERCH_TOKEN"]; tok == nil || *tok != "test-token" {
		t.Errorf("serve's LANDER_SERVE_MERCH_TOKEN is not taken from MERCH_TOKEN: %v", tok)
	}
	if hc := strings.Join(serve.HealthCheck.Test, " "); !strings.Contains(hc, "/readyz") || !strings.Contains(hc, "8080") {
		t.Errorf("serve's healthcheck does not ask /readyz on 8080: %s", hc)
	}
	index := p.Services["index"]
	if !strings.Contains(strings.Join(index.Command, " "), "index") || !strings.Contains(strings.Join(index.Command, " "), "--milvus milvus:19530") {
		t.Errorf("the index service does not run lander index into Milvus: %v", index.Command)
	}
}

// The token is never in the file: without MERCH_TOKEN compose
// refuses to start.
func TestComposeRequiresToken(t *testing.T) {
	_, err := LoadCompose("compose.yaml", map[string]string{})
	if err == nil || !strings.Contains(err.Error(), "MERCH_TOKEN") {
		t.Fatalf("compose.yaml loads without MERCH_TOKEN: %v", err)
	}
}

func TestComposeRejectsBad(t *testing.T) {
	want := map[string]string{
		"no-healthcheck.yaml":   "service redis: no healthcheck",
		"latest-image.yaml":     "uses latest",
		"anonymous-volume.yaml": "anonymous volume at /data",
		"schema-error.yaml":     "healthcheck.test must be a string",
		"unknown-key.yaml":      "volumez",
		"depends-started.yaml":  "does not wait for health",
	}
	files, _ := filepath.Glob("testdata/bad/compose/*.yaml")
	if len(files) != len(want) {
		t.Errorf("%d bad compose files, %d expectations", len(files), len(want))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			expectError(t, CheckCompose(f, nil), want[filepath.Base(f)])
		})
	}
	if errs := CheckCompose("testdata/bad/compose/anonymous-volume.yaml", nil); !containsError(errs, "is writable") {
		t.Errorf("a writable bind mount passed: %v", errs)
	}
}

func TestDockerfile(t *testing.T) {
	report(t, CheckDockerfile("../Dockerfile", nil))
	// The GPU embed image: pinned and non-root; it copies sources, not
	// build outputs.
	report(t, CheckDockerfile("embed.Dockerfile", []string{}))
}

func TestDockerfileRejectsBad(t *testing.T) {
	want := map[string][]string{
		"Dockerfile.root":      {"final stage has no USER"},
		"Dockerfile.user-root": {"runs as USER 0:0 (root)"},
		"Dockerfile.unpinned":  {`tag "1.26-bookworm" names no release`, `image "debian" has no tag`},
		"Dockerfile.no-model":  {"COPY --from a build stage libonnxruntime.so", "models/minilm", "encoder/weights", "LANDER_MODELS: unknown setting"},
	}
	files, _ := filepath.Glob("testdata/bad/docker/Dockerfile.*")
	if len(files) != len(want) {
		t.Errorf("%d bad Dockerfiles, %d expectations", len(files), len(want))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			errs := CheckDockerfile(f, nil)
			for _, w := range want[filepath.Base(f)] {
				expectError(t, errs, w)
			}
		})
	}
}

func TestParseDockerfile(t *testing.T) {
	src := "# syntax=docker/dockerfile:1\n# escape=\\\n" +
		"ARG BASE=debian:bookworm-20260824-slim\n" +
		"FROM --platform=$BUILDPLATFORM golang:1.26.8-bookworm AS Build\n" +
		"RUN apt-get update \\\n" +
		"# a comment inside a continuation\n" +
		"\n" +
		" && echo done\n" +
		"RUN <<EOF\nUSER root\nFROM evil:latest\nEOF\n" +
		"FROM ${BASE}\n" +
		"COPY --from=build --chown=1:1 /a /b /dst/\n" +
		"ENV A=1 B=\"two\"\n" +
		"ENV C three\n" +
		"USER 10001:10001\n" +
		"CMD [\"serve\", \"--addr\", \":8080\"]\n"
	df, err := ParseDockerfile(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(df.Stages) != 2 {
		t.Fatalf("%d stages, want 2 (a heredoc's FROM is not a stage)", len(df.Stages))
	}
	b, r := df.Stages[0], df.Stages[1]
	if b.Name != "build" || b.Base != "golang:1.26.8-bookworm" || len(b.Instructions) != 2 {
		t.Errorf("build stage %+v", b)
	}
	if got := b.Instructions[0].Raw; !strings.Contains(got, "apt-get update") || !strings.Contains(got, "&& echo done") {
		t.Errorf("continuation not joined: %q", got)
	}
	if r.Base != "debian:bookworm-20260824-slim" {
		t.Errorf("global ARG not substituted: %q", r.Base)
	}
	if r.User() != "10001:10001" || b.User() != "" {
		t.Errorf("users %q %q", r.User(), b.User())
	}
	cp := r.Instructions[0]
	if cp.Flags["from"] != "build" || cp.Flags["chown"] != "1:1" || strings.Join(cp.Args, " ") != "/a /b /dst/" {
		t.Errorf("COPY %+v", cp)
	}
	env := r.Env()
	if env["A"] != "1" || env["B"] != "two" || env["C"] != "three" {
		t.Errorf("ENV %v", env)
	}
	last := r.Instructions[len(r.Instructions)-1]
	if !last.JSON || strings.Join(last.Args, "|") != "serve|--addr|:8080" {
		t.Errorf("exec form %+v", last)
	}
	for _, bad := range []string{"", "RUN echo\n", "FROM a:1.2.3\nFROB x\n", "FROM a:1.2.3\nRUN <<EOF\nno end\n"} {
		if _, err := ParseDockerfile(strings.NewReader(bad)); err == nil {
			t.Errorf("parsed %q", bad)
		}
	}
}

func TestCheckImagePinned(t *testing.T) {
	for ref, ok := range map[string]bool{
		"golang:1.26.8-bookworm":                   true,
		"debian:bookworm-20260824-slim":            true,
		"quay.io/coreos/etcd:v3.5.25":              true,
		"minio/minio:RELEASE.2024-12-18T13-15-44Z": true,
		"milvusdb/milvus:v2.6.16":                  true,
		"registry.example.com:5000/lander:v0.1.0":  true,
		"debian@sha256:" + strings.Repeat("a", 64): true,
		"golang:1.26-bookworm":                     false,
		"golang:1.26":                              false,
		"debian:bookworm-slim":                     false,
		"redis":                                    false,
		"redis:latest":                             false,
		"registry.example.com:5000/lander":         false,
		"redis:7":                                  false,
		"x@sha256:abc":                             false,
		"${IMAGE}":                                 false,
	} {
		if err := CheckImagePinned(ref); (err == nil) != ok {
			t.Errorf("CheckImagePinned(%q) = %v, want ok=%v", ref, err, ok)
		}
	}
}

// The checks see the real manifests, not only the testdata: breaking the
// real server or the real Indexed Job in memory must fail them.
func TestRealManifestsMutated(t *testing.T) {
	mutate := func(name string, fn func(ms []Manifest), want string) {
		t.Run(name, func(t *testing.T) {
			ms, errs := LoadManifests("k8s")
			report(t, errs)
			fn(ms)
			expectError(t, CheckManifestSet(ms), want)
		})
	}
	find := func(ms []Manifest, kind, name string) runtime.Object {
		for _, m := range ms {
			if m.Kind == kind && m.Name == name {
				return m.Obj
			}
		}
		t.Fatalf("no %s/%s", kind, name)
		return nil
	}
	mutate("no readiness probe", func(ms []Manifest) {
		find(ms, "Deployment", "lander").(*appsv1.Deployment).Spec.Template.Spec.Containers[0].ReadinessProbe = nil
	}, "no readinessProbe")
	mutate("liveness on /readyz", func(ms []Manifest) {
		find(ms, "Deployment", "lander").(*appsv1.Deployment).Spec.Template.Spec.Containers[0].LivenessProbe.HTTPGet.Path = "/readyz"
	}, "livenessProbe asks \"/readyz\"")
	mutate("completions 4", func(ms []Manifest) {
		n := int32(4)
		find(ms, "Job", "lander-index-shards").(*batchv1.Job).Spec.Completions = &n
		find(ms, "Job", "lander-index-shards").(*batchv1.Job).Spec.Parallelism = &n
	}, "N must equal completions 4")
	mutate("secret renamed", func(ms []Manifest) {
		find(ms, "Secret", "lander-merch-token").(*corev1.Secret).Name = "other"
	}, `Secret "lander-merch-token" is not in the set`)
	mutate("pdb selector", func(ms []Manifest) {
		find(ms, "PodDisruptionBudget", "lander").(*policyv1.PodDisruptionBudget).Spec.Selector.MatchLabels["app.kubernetes.io/component"] = "index"
	}, "matches no Deployment's pods")
	mutate("gpu node selector dropped", func(ms []Manifest) {
		spec := &find(ms, "Job", "lander-embed-gpu").(*batchv1.Job).Spec.Template.Spec
		spec.NodeSelector, spec.Tolerations = nil, nil
	}, "no nodeSelector, affinity or toleration")
}

func TestKustomizationRejectsBad(t *testing.T) {
	errs := CheckKustomizations("testdata/bad/kustomize")
	for _, want := range []string{
		"resource missing.yaml", "outside the kustomization's folder", "orphan.yaml is not listed",
		`"landr" is used by no manifest`, "uses latest",
	} {
		expectError(t, errs, want)
	}
}
