package deploy

import (
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

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
