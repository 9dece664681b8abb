package deploy

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"lander/config"
)

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
