package deploy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"lander/config"
)

// LoadCompose loads a compose file with compose-spec's loader, which
// validates it against the compose schema it embeds, interpolates env (and
// nothing from the process environment) and enables every profile.
func LoadCompose(path string, env map[string]string) (*types.Project, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(abs)
	if err != nil {
		return nil, err
	}
	details := types.ConfigDetails{
		WorkingDir:  filepath.Dir(abs),
		ConfigFiles: []types.ConfigFile{{Filename: abs, Content: b}},
		Environment: types.Mapping(env),
	}
	return loader.LoadWithContext(context.Background(), details, func(o *loader.Options) {
		o.SetProjectName("lander-check", true)
		o.Profiles = []string{"*"}
		o.SkipInclude = true // no remote or extra files
		o.ResourceLoaders = nil
	})
}

// CheckCompose loads a compose file (LoadCompose) and checks what the schema
// cannot: every service has a health check or is a one-shot (restart "no"),
// depends_on waits on health (service_healthy, or
// service_completed_successfully for a one-shot) of a service that has a
// health check, volumes are named (bind mounts only read-only inputs),
// pulled images are pinned, built images come from the repository's
// Dockerfile, and lander services carry configuration that lander accepts:
// a --config file from compose configs that decodes strictly and LANDER_*
// variables lander knows.
func CheckCompose(path string, env map[string]string) []error {
	p, err := LoadCompose(path, env)
	if err != nil {
		return []error{fmt.Errorf("%s: %w", path, err)}
	}
	var errs []error
	names := make([]string, 0, len(p.Services))
	for n := range p.Services {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		s := p.Services[name]
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s: service %s: %s", path, name, fmt.Sprintf(format, args...)))
		}
		oneShot := s.Restart == types.RestartPolicyNo
		hasHealth := s.HealthCheck != nil && !s.HealthCheck.Disable && len(s.HealthCheck.Test) > 0 && s.HealthCheck.Test[0] != "NONE"
		if !hasHealth && !oneShot {
			bad("no healthcheck and not a one-shot (restart: \"no\")")
		}
		if oneShot && len(s.Ports) > 0 {
			bad("a one-shot publishes ports")
		}
		for dep, d := range s.DependsOn {
			ds, ok := p.Services[dep]
			if !ok {
				bad("depends_on %s: no such service", dep)
				continue
			}
			switch d.Condition {
			case types.ServiceConditionHealthy:
				if ds.HealthCheck == nil || ds.HealthCheck.Disable {
					bad("depends_on %s: service_healthy, but %s has no healthcheck", dep, dep)
				}
			case types.ServiceConditionCompletedSuccessfully:
				if ds.Restart != types.RestartPolicyNo {
					bad("depends_on %s: service_completed_successfully on a service that restarts", dep)
				}
			default:
				bad("depends_on %s: condition %q does not wait for health", dep, d.Condition)
			}
		}
		for _, v := range s.Volumes {
			switch v.Type {
			case types.VolumeTypeVolume:
				if v.Source == "" {
					bad("anonymous volume at %s: name it under top-level volumes", v.Target)
				} else if _, ok := p.Volumes[v.Source]; !ok {
					bad("volume %q is not declared under top-level volumes", v.Source)
				}
			case types.VolumeTypeBind:
				if !v.ReadOnly {
					bad("bind mount %s -> %s is writable: keep state in named volumes", v.Source, v.Target)
				}
			case types.VolumeTypeTmpfs:
			default:
				bad("volume type %q at %s", v.Type, v.Target)
			}
		}
		if s.Build != nil {
			if s.Image == "" {
				bad("builds without naming its image")
			}
			if df := s.Build.Dockerfile; df != "" && df != "Dockerfile" {
				bad("builds from %s, want the repository's Dockerfile", df)
			}
		} else if err := CheckImagePinned(s.Image); err != nil {
			bad("%v", err)
		}
		if s.Build != nil && isLanderImage(s.Image) {
			errs = append(errs, checkLanderService(path, name, p, s)...)
		}
	}
	return errs
}

func checkLanderService(path, name string, p *types.Project, s types.ServiceConfig) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: service %s: %s", path, name, fmt.Sprintf(format, args...)))
	}
	cfg := config.Default()
	args := []string(s.Command)
	if cfgPath, ok := flagValue(args, "config"); ok {
		found := false
		for _, c := range s.Configs {
			if c.Target != cfgPath {
				continue
			}
			found = true
			obj, ok := p.Configs[c.Source]
			if !ok || obj.File == "" {
				bad("config %q is not a file under top-level configs", c.Source)
				continue
			}
			b, err := os.ReadFile(obj.File)
			if err != nil {
				bad("config %q: %v", c.Source, err)
			} else if err := cfg.Decode(b); err != nil {
				bad("--config %s (%s): lander's configuration does not decode: %v", cfgPath, obj.File, err)
			}
		}
		if !found {
			bad("--config %s is not mounted from top-level configs", cfgPath)
		}
	}
	var environ []string
	for k, v := range s.Environment {
		val := ""
		if v != nil {
			val = *v
		}
		environ = append(environ, k+"="+val)
	}
	slices.Sort(environ)
	if err := cfg.ApplyEnv(environ); err != nil {
		bad("environment: %v", err)
	}
	for _, flag := range []string{"milvus", "redis"} {
		if v, ok := flagValue(args, flag); ok {
			host, _, _ := strings.Cut(v, ":")
			if _, ok := p.Services[host]; !ok {
				bad("--%s %s: no service %q", flag, v, host)
			}
			if _, ok := s.DependsOn[host]; !ok {
				bad("--%s %s without depends_on %s", flag, v, host)
			}
		}
	}
	if err := cfg.Validate(); err != nil {
		bad("configuration does not validate: %v", err)
	}
	return errs
}
