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
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"lander/config"
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

// workload is a pod template with its owner.
type workload struct {
	m      Manifest
	labels map[string]string
	spec   *corev1.PodSpec
	// selector is the owner's pod selector (nil for Jobs, whose selector the
	// controller generates).
	selector *metav1.LabelSelector
}

// CheckManifestSet checks what a schema cannot, over the whole set:
// containers have resource requests and pinned images and run as non-root;
// referenced Secrets, ConfigMaps (with their keys), claims and volumes exist;
// Deployments' selectors match their pods and Services, PodDisruptionBudgets
// and HorizontalPodAutoscalers select or target existing workloads; the
// server's probes ask /readyz and /healthz on its container port; Indexed
// Jobs shard by $(JOB_COMPLETION_INDEX)/N with N = completions and the
// finalize Job merges that many shards; GPU pods are placed on GPU nodes;
// lander containers' LANDER_* variables and configuration files are valid
// for lander's own configuration.
func CheckManifestSet(ms []Manifest) []error {
	var errs []error
	bad := func(m Manifest, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", m, fmt.Sprintf(format, args...)))
	}
	secrets := map[string]*corev1.Secret{}
	configMaps := map[string]*corev1.ConfigMap{}
	claims := map[string]bool{}
	deployments := map[string]*appsv1.Deployment{}
	seen := map[string]Manifest{}
	var workloads []workload
	for _, m := range ms {
		key := m.Kind + "/" + m.Name
		if prev, dup := seen[key]; dup {
			bad(m, "duplicate %s (also %s)", key, prev)
		}
		seen[key] = m
		switch o := m.Obj.(type) {
		case *corev1.Secret:
			secrets[o.Name] = o
		case *corev1.ConfigMap:
			configMaps[o.Name] = o
		case *corev1.PersistentVolumeClaim:
			claims[o.Name] = true
			if len(o.Spec.AccessModes) == 0 {
				bad(m, "no accessModes")
			}
			if _, ok := o.Spec.Resources.Requests[corev1.ResourceStorage]; !ok {
				bad(m, "no storage request")
			}
		case *appsv1.Deployment:
			deployments[o.Name] = o
			workloads = append(workloads, workload{m, o.Spec.Template.Labels, &o.Spec.Template.Spec, o.Spec.Selector})
		case *appsv1.StatefulSet:
			workloads = append(workloads, workload{m, o.Spec.Template.Labels, &o.Spec.Template.Spec, o.Spec.Selector})
		case *appsv1.DaemonSet:
			workloads = append(workloads, workload{m, o.Spec.Template.Labels, &o.Spec.Template.Spec, o.Spec.Selector})
		case *batchv1.Job:
			workloads = append(workloads, workload{m, o.Spec.Template.Labels, &o.Spec.Template.Spec, nil})
		}
	}

	for _, w := range workloads {
		if w.selector != nil {
			sel, err := metav1.LabelSelectorAsSelector(w.selector)
			switch {
			case err != nil:
				bad(w.m, "selector: %v", err)
			case sel.Empty():
				bad(w.m, "empty selector")
			case !sel.Matches(labels.Set(w.labels)):
				bad(w.m, "selector %s does not match the pod template's labels %v", sel, w.labels)
			}
		}
		errs = append(errs, checkPodSpec(w.m, w.spec, secrets, configMaps, claims)...)
	}

	// Services, PodDisruptionBudgets and HorizontalPodAutoscalers.
	for _, m := range ms {
		switch o := m.Obj.(type) {
		case *corev1.Service:
			if len(o.Spec.Selector) == 0 {
				bad(m, "no selector")
				continue
			}
			sel := labels.SelectorFromSet(o.Spec.Selector)
			var pods []workload
			for _, w := range workloads {
				if w.selector != nil && sel.Matches(labels.Set(w.labels)) {
					pods = append(pods, w)
				}
			}
			if len(pods) == 0 {
				bad(m, "selector %s matches no Deployment's pods", sel)
				continue
			}
			for _, p := range o.Spec.Ports {
				tp := p.TargetPort
				if tp.IntVal == 0 && tp.StrVal == "" {
					tp.IntVal = p.Port
				}
				for _, w := range pods {
					if _, ok := resolvePort(w.spec.Containers, tp.String()); !ok {
						bad(m, "port %q: targetPort %s is no container port of %s", p.Name, tp.String(), w.m)
					}
				}
			}
		case *policyv1.PodDisruptionBudget:
			sel, err := metav1.LabelSelectorAsSelector(o.Spec.Selector)
			if err != nil || sel.Empty() {
				bad(m, "missing or bad selector: %v", err)
				continue
			}
			var matched []*appsv1.Deployment
			for _, d := range deployments {
				if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
					matched = append(matched, d)
				}
			}
			if len(matched) == 0 {
				bad(m, "selector %s matches no Deployment's pods", sel)
			}
			if o.Spec.MinAvailable == nil && o.Spec.MaxUnavailable == nil {
				bad(m, "neither minAvailable nor maxUnavailable")
			}
			// A budget that keeps every replica blocks every node drain.
			for _, d := range matched {
				if o.Spec.MinAvailable != nil && o.Spec.MinAvailable.Type == 0 {
					floor := int32(1)
					if d.Spec.Replicas != nil {
						floor = *d.Spec.Replicas
					}
					for _, h := range ms {
						if hpa, ok := h.Obj.(*autoscalingv2.HorizontalPodAutoscaler); ok && hpa.Spec.ScaleTargetRef.Name == d.Name && hpa.Spec.MinReplicas != nil {
							floor = *hpa.Spec.MinReplicas
						}
					}
					if o.Spec.MinAvailable.IntVal >= floor {
						bad(m, "minAvailable %d is not below the %d replicas of Deployment/%s: no pod could ever be evicted", o.Spec.MinAvailable.IntVal, floor, d.Name)
					}
				}
			}
		case *autoscalingv2.HorizontalPodAutoscaler:
			ref := o.Spec.ScaleTargetRef
			d, ok := deployments[ref.Name]
			if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || !ok {
				bad(m, "scaleTargetRef %s %s/%s is no Deployment in the set", ref.APIVersion, ref.Kind, ref.Name)
				continue
			}
			if o.Spec.MinReplicas != nil && *o.Spec.MinReplicas > o.Spec.MaxReplicas {
				bad(m, "minReplicas %d > maxReplicas %d", *o.Spec.MinReplicas, o.Spec.MaxReplicas)
			}
			if len(o.Spec.Metrics) == 0 {
				bad(m, "no metrics")
			}
			for _, mt := range o.Spec.Metrics {
				if mt.Type != autoscalingv2.ResourceMetricSourceType || mt.Resource == nil || mt.Resource.Target.Type != autoscalingv2.UtilizationMetricType {
					continue
				}
				for _, c := range d.Spec.Template.Spec.Containers {
					if _, ok := c.Resources.Requests[mt.Resource.Name]; !ok {
						bad(m, "utilization of %s needs a %s request on container %q of Deployment/%s", mt.Resource.Name, mt.Resource.Name, c.Name, d.Name)
					}
				}
			}
		}
	}
	errs = append(errs, checkServers(workloads)...)
	errs = append(errs, checkIndexJobs(ms)...)
	return errs
}

// checkPodSpec checks one pod template.
func checkPodSpec(m Manifest, spec *corev1.PodSpec, secrets map[string]*corev1.Secret, configMaps map[string]*corev1.ConfigMap, claims map[string]bool) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", m, fmt.Sprintf(format, args...)))
	}
	if len(spec.Containers) == 0 {
		bad("no containers")
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
		switch {
		case v.ConfigMap != nil:
			cm, ok := configMaps[v.ConfigMap.Name]
			if !ok && !ptrTrue(v.ConfigMap.Optional) {
				bad("volume %q: ConfigMap %q is not in the set", v.Name, v.ConfigMap.Name)
			}
			for _, it := range v.ConfigMap.Items {
				if _, has := cm.Data[it.Key]; ok && !has {
					bad("volume %q: ConfigMap %q has no key %q", v.Name, v.ConfigMap.Name, it.Key)
				}
			}
		case v.Secret != nil:
			if _, ok := secrets[v.Secret.SecretName]; !ok && !ptrTrue(v.Secret.Optional) {
				bad("volume %q: Secret %q is not in the set", v.Name, v.Secret.SecretName)
			}
		case v.PersistentVolumeClaim != nil:
			if !claims[v.PersistentVolumeClaim.ClaimName] {
				bad("volume %q: PersistentVolumeClaim %q is not in the set", v.Name, v.PersistentVolumeClaim.ClaimName)
			}
		}
	}
	if job, ok := m.Obj.(*batchv1.Job); ok {
		rp := spec.RestartPolicy
		if rp != corev1.RestartPolicyNever && rp != corev1.RestartPolicyOnFailure {
			bad("a Job's restartPolicy must be Never or OnFailure, got %q", rp)
		}
		if job.Spec.BackoffLimitPerIndex != nil && rp != corev1.RestartPolicyNever {
			bad("backoffLimitPerIndex needs restartPolicy Never")
		}
	}
	podNonRoot := spec.SecurityContext != nil && ptrTrue(spec.SecurityContext.RunAsNonRoot)
	if spec.SecurityContext != nil && spec.SecurityContext.RunAsUser != nil && *spec.SecurityContext.RunAsUser == 0 {
		bad("pod runs as user 0")
	}
	gpu := false
	all := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	for _, c := range all {
		cbad := func(format string, args ...any) { bad("container %q: %s", c.Name, fmt.Sprintf(format, args...)) }
		if c.Name == "" {
			cbad("no name")
		}
		if err := CheckImagePinned(c.Image); err != nil {
			cbad("%v", err)
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Requests[r]; !ok {
				cbad("no %s request", r)
			}
		}
		if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
			cbad("no memory limit")
		}
		for r, q := range c.Resources.Requests {
			if l, ok := c.Resources.Limits[r]; ok && q.Cmp(l) > 0 {
				cbad("%s request %s above its limit %s", r, q.String(), l.String())
			}
		}
		if g, ok := c.Resources.Limits["nvidia.com/gpu"]; ok && !g.IsZero() {
			gpu = true
			if q, ok := c.Resources.Requests["nvidia.com/gpu"]; ok && q.Cmp(g) != 0 {
				cbad("nvidia.com/gpu request %s differs from its limit %s", q.String(), g.String())
			}
		}
		sc := c.SecurityContext
		if !podNonRoot && (sc == nil || !ptrTrue(sc.RunAsNonRoot)) {
			cbad("runAsNonRoot is not set (pod or container)")
		}
		if sc != nil && sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			cbad("runs as user 0")
		}
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			cbad("allowPrivilegeEscalation is not false")
		}
		if sc != nil && ptrTrue(sc.Privileged) {
			cbad("privileged")
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil && !ptrTrue(r.Optional) {
				if s, ok := secrets[r.Name]; !ok {
					cbad("env %s: Secret %q is not in the set", e.Name, r.Name)
				} else if _, has := s.Data[r.Key]; !has {
					if _, has := s.StringData[r.Key]; !has {
						cbad("env %s: Secret %q has no key %q", e.Name, r.Name, r.Key)
					}
				}
			}
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil && !ptrTrue(r.Optional) {
				if cm, ok := configMaps[r.Name]; !ok {
					cbad("env %s: ConfigMap %q is not in the set", e.Name, r.Name)
				} else if _, has := cm.Data[r.Key]; !has {
					cbad("env %s: ConfigMap %q has no key %q", e.Name, r.Name, r.Key)
				}
			}
		}
		for _, ef := range c.EnvFrom {
			if ef.SecretRef != nil && !ptrTrue(ef.SecretRef.Optional) {
				if _, ok := secrets[ef.SecretRef.Name]; !ok {
					cbad("envFrom: Secret %q is not in the set", ef.SecretRef.Name)
				}
			}
			if ef.ConfigMapRef != nil && !ptrTrue(ef.ConfigMapRef.Optional) {
				if _, ok := configMaps[ef.ConfigMapRef.Name]; !ok {
					cbad("envFrom: ConfigMap %q is not in the set", ef.ConfigMapRef.Name)
				}
			}
		}
		for _, vm := range c.VolumeMounts {
			if _, ok := volumes[vm.Name]; !ok {
				cbad("volumeMount %q names no volume of the pod", vm.Name)
			}
		}
		if isLanderImage(c.Image) {
			errs = append(errs, checkLanderContainer(m, spec, c, volumes, configMaps)...)
		}
	}
	if gpu {
		tolerates := false
		for _, t := range spec.Tolerations {
			if t.Key == "nvidia.com/gpu" {
				tolerates = true
			}
		}
		if len(spec.NodeSelector) == 0 && spec.Affinity == nil && !tolerates {
			bad("asks for nvidia.com/gpu but has no nodeSelector, affinity or toleration for GPU nodes")
		}
	}
	return errs
}

func ptrTrue(b *bool) bool { return b != nil && *b }

// isLanderImage reports an image of lander itself (not lander-embed).
func isLanderImage(ref string) bool {
	name := ref
	if at := strings.IndexByte(name, '@'); at >= 0 {
		name = name[:at]
	}
	if slash := strings.LastIndexByte(name, '/'); slash >= 0 {
		name = name[slash+1:]
	}
	name, _, _ = strings.Cut(name, ":")
	return name == "lander"
}

// landerArgs returns the container's command line after the entrypoint.
func landerArgs(c corev1.Container) []string {
	args := append([]string{}, c.Command...)
	if len(args) > 0 && strings.HasSuffix(args[0], "lander") {
		args = args[1:]
	}
	return append(args, c.Args...)
}

// flagValue returns the value of --name in args (as "--name V" or "--name=V").
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		a = "--" + strings.TrimLeft(a, "-")
		if a == "--"+name && i+1 < len(args) && strings.HasPrefix(args[i], "-") {
			return args[i+1], true
		}
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok && strings.HasPrefix(args[i], "-") {
			return v, true
		}
	}
	return "", false
}

// checkLanderContainer checks a lander container against lander's own
// configuration: its LANDER_* variables must be settings lander knows (it
// refuses unknown ones), so service links, which would inject
// LANDER_SERVICE_HOST and the like for a Service named lander, must be off;
// a --config file must come from a mounted ConfigMap key that decodes
// strictly and validates.
func checkLanderContainer(m Manifest, spec *corev1.PodSpec, c corev1.Container, volumes map[string]corev1.Volume, configMaps map[string]*corev1.ConfigMap) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: container %q: %s", m, c.Name, fmt.Sprintf(format, args...)))
	}
	if spec.EnableServiceLinks == nil || *spec.EnableServiceLinks {
		bad("enableServiceLinks must be false: Services named lander* inject LANDER_* variables, which lander rejects as unknown settings")
	}
	cfg := config.Default()
	if path, ok := flagValue(landerArgs(c), "config"); ok {
		body, err := mountedConfigMapFile(path, c, volumes, configMaps)
		if err != nil {
			bad("--config %s: %v", path, err)
		} else if err := cfg.Decode([]byte(body)); err != nil {
			bad("--config %s: lander's configuration does not decode: %v", path, err)
		}
	}
	var environ []string
	for _, e := range c.Env {
		v := e.Value
		if e.ValueFrom != nil {
			v = "from-ref"
		}
		environ = append(environ, e.Name+"="+v)
	}
	if err := cfg.ApplyEnv(environ); err != nil {
		bad("environment: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		bad("configuration does not validate: %v", err)
	}
	return errs
}

// mountedConfigMapFile returns the content of the file at path when it is a
// key of a ConfigMap mounted in the container.
func mountedConfigMapFile(path string, c corev1.Container, volumes map[string]corev1.Volume, configMaps map[string]*corev1.ConfigMap) (string, error) {
	for _, vm := range c.VolumeMounts {
		v, ok := volumes[vm.Name]
		if !ok || v.ConfigMap == nil {
			continue
		}
		cm, ok := configMaps[v.ConfigMap.Name]
		if !ok {
			continue
		}
		var key string
		switch {
		case vm.SubPath != "" && path == vm.MountPath:
			key = vm.SubPath
		case vm.SubPath == "" && filepath.Dir(path) == filepath.Clean(vm.MountPath):
			key = filepath.Base(path)
			for _, it := range v.ConfigMap.Items {
				if it.Path == key {
					key = it.Key
				}
			}
		default:
			continue
		}
		body, ok := cm.Data[key]
		if !ok {
			return "", fmt.Errorf("ConfigMap %q mounted at %s has no key %q", cm.Name, vm.MountPath, key)
		}
		return body, nil
	}
	return "", fmt.Errorf("no ConfigMap in the set is mounted there")
}

// resolvePort finds a container port by name or number.
func resolvePort(cs []corev1.Container, port string) (int32, bool) {
	for _, c := range cs {
		for _, p := range c.Ports {
			if p.Name == port || strconv.Itoa(int(p.ContainerPort)) == port {
				return p.ContainerPort, true
			}
		}
	}
	return 0, false
}

// checkServers checks the probes of every workload running "lander serve":
// readiness on /readyz, liveness on /healthz, a startup probe, all on the
// container port that lander listens on.
func checkServers(workloads []workload) []error {
	var errs []error
	for _, w := range workloads {
		for _, c := range w.spec.Containers {
			args := landerArgs(c)
			if !isLanderImage(c.Image) || len(args) == 0 || args[0] != "serve" {
				continue
			}
			bad := func(format string, a ...any) {
				errs = append(errs, fmt.Errorf("%s: container %q: %s", w.m, c.Name, fmt.Sprintf(format, a...)))
			}
			listen := int32(8080)
			if addr, ok := flagValue(args, "addr"); ok {
				_, p, _ := strings.Cut(addr, ":")
				n, err := strconv.Atoi(p)
				if err != nil {
					bad("--addr %q has no port", addr)
				}
				listen = int32(n)
			}
			if _, ok := resolvePort([]corev1.Container{c}, strconv.Itoa(int(listen))); !ok {
				bad("lander listens on %d, which is no containerPort", listen)
			}
			for _, pr := range []struct {
				kind, path string
				probe      *corev1.Probe
			}{{"readinessProbe", "/readyz", c.ReadinessProbe}, {"livenessProbe", "/healthz", c.LivenessProbe}, {"startupProbe", "", c.StartupProbe}} {
				switch {
				case pr.probe == nil:
					bad("no %s", pr.kind)
				case pr.probe.HTTPGet == nil:
					bad("%s is not an HTTP GET", pr.kind)
				default:
					g := pr.probe.HTTPGet
					if pr.path != "" && g.Path != pr.path {
						bad("%s asks %q, want %s", pr.kind, g.Path, pr.path)
					}
					if pr.path == "" && g.Path != "/healthz" && g.Path != "/readyz" {
						bad("%s asks %q, want /healthz or /readyz", pr.kind, g.Path)
					}
					if p, ok := resolvePort([]corev1.Container{c}, g.Port.String()); !ok || p != listen {
						bad("%s port %s is not the container port %d that lander listens on", pr.kind, g.Port.String(), listen)
					}
				}
			}
		}
	}
	return errs
}

// checkIndexJobs checks the sharded index: an Indexed Job's lander index
// runs --shard $(JOB_COMPLETION_INDEX)/N with N its completions, and a
// finalize Job merges --shards N of the same data folder.
func checkIndexJobs(ms []Manifest) []error {
	var errs []error
	type sharded struct {
		m    Manifest
		n    int
		data string
	}
	var shardJobs []sharded
	var finalize []Manifest
	for _, m := range ms {
		job, ok := m.Obj.(*batchv1.Job)
		if !ok {
			continue
		}
		bad := func(format string, a ...any) {
			errs = append(errs, fmt.Errorf("%s: %s", m, fmt.Sprintf(format, a...)))
		}
		indexed := job.Spec.CompletionMode != nil && *job.Spec.CompletionMode == batchv1.IndexedCompletion
		for _, c := range job.Spec.Template.Spec.Containers {
			args := landerArgs(c)
			if !isLanderImage(c.Image) || len(args) == 0 || args[0] != "index" {
				continue
			}
			if slices.Contains(args, "--finalize") {
				finalize = append(finalize, m)
				continue
			}
			shard, hasShard := flagValue(args, "shard")
			if !indexed {
				if hasShard && strings.Contains(shard, "$(JOB_COMPLETION_INDEX)") {
					bad("uses $(JOB_COMPLETION_INDEX) but completionMode is not Indexed")
				}
				continue
			}
			if job.Spec.Completions == nil {
				bad("an Indexed Job needs completions")
				continue
			}
			n := int(*job.Spec.Completions)
			if job.Spec.Parallelism != nil && *job.Spec.Parallelism > *job.Spec.Completions {
				bad("parallelism %d > completions %d", *job.Spec.Parallelism, n)
			}
			i, count, ok := strings.Cut(shard, "/")
			if !hasShard || !ok || i != "$(JOB_COMPLETION_INDEX)" {
				bad("container %q: lander index in an Indexed Job needs --shard $(JOB_COMPLETION_INDEX)/N, got %q", c.Name, shard)
				continue
			}
			if got, err := strconv.Atoi(count); err != nil || got != n {
				bad("container %q: --shard %s: N must equal completions %d", c.Name, shard, n)
			}
			if _, ok := flagValue(args, "catalog"); !ok {
				bad("container %q: lander index needs --catalog", c.Name)
			}
			data, _ := flagValue(args, "data")
			shardJobs = append(shardJobs, sharded{m, n, data})
		}
	}
	for _, m := range finalize {
		job := m.Obj.(*batchv1.Job)
		bad := func(format string, a ...any) {
			errs = append(errs, fmt.Errorf("%s: %s", m, fmt.Sprintf(format, a...)))
		}
		if job.Spec.CompletionMode != nil && *job.Spec.CompletionMode == batchv1.IndexedCompletion {
			bad("the finalize Job must not be Indexed")
		}
		if job.Spec.Parallelism != nil && *job.Spec.Parallelism > 1 {
			bad("the finalize Job must run one pod")
		}
		for _, c := range job.Spec.Template.Spec.Containers {
			args := landerArgs(c)
			if !slices.Contains(args, "--finalize") {
				continue
			}
			v, ok := flagValue(args, "shards")
			n, err := strconv.Atoi(v)
			if !ok || err != nil || n < 1 {
				bad("container %q: --finalize needs --shards N, got %q", c.Name, v)
				continue
			}
			data, _ := flagValue(args, "data")
			for _, s := range shardJobs {
				if s.n != n {
					bad("container %q: --shards %d but %s runs %d shards", c.Name, n, s.m, s.n)
				}
				if s.data != data {
					bad("container %q: --data %q but %s writes to %q", c.Name, data, s.m, s.data)
				}
			}
		}
	}
	if len(finalize) > 0 && len(shardJobs) == 0 {
		errs = append(errs, fmt.Errorf("%s: a finalize Job without an Indexed Job running lander index --shard", finalize[0]))
	}
	return errs
}

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
