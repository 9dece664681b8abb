package deploy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"lander/config"
)

// Instruction is one Dockerfile instruction after line continuations are
// joined and heredoc bodies are set aside.
type Instruction struct {
	// Line is the 1-based line where the instruction starts.
	Line int
	// Cmd is the upper-cased keyword: FROM, RUN, COPY, ...
	Cmd string
	// Flags are the leading --name=value options (COPY --from=build).
	Flags map[string]string
	// Args are the arguments: the JSON array's items in exec form, else the
	// whitespace-separated words of the rest of the line.
	Args []string
	// JSON reports the exec (JSON array) form.
	JSON bool
	// Raw is the text after the keyword and its flags.
	Raw string
}

// Stage is one FROM and the instructions up to the next.
type Stage struct {
	// Base is the image (or earlier stage) named by FROM, with global ARG
	// defaults substituted.
	Base string
	// Name is the AS name, lower-cased; empty when unnamed.
	Name string
	Line int
	// Instructions excludes the FROM itself.
	Instructions []Instruction
}

// Dockerfile is a parsed Dockerfile.
type Dockerfile struct {
	Stages []Stage
	// Args are the global ARG defaults, declared before the first FROM.
	Args map[string]string
}

var (
	directiveRE = regexp.MustCompile(`^#\s*([a-zA-Z][a-zA-Z0-9_-]*)\s*=\s*(.*?)\s*$`)
	heredocRE   = regexp.MustCompile(`<<(-?)\s*(["']?)([A-Za-z_][A-Za-z0-9_]*)(["']?)`)
	flagRE      = regexp.MustCompile(`^--([a-z][a-z0-9-]*)(?:=(\S*))?$`)
	argRefRE    = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)
)

// ParseDockerfile reads a Dockerfile: parser directives (escape), comments,
// line continuations (also across comment and empty lines, as BuildKit
// does), heredocs, exec and shell forms, multi-stage builds and global ARGs.
func ParseDockerfile(r io.Reader) (*Dockerfile, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var lines []string
	for sc.Scan() {
		lines = append(lines, strings.TrimRight(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	escape := byte('\\')
	i := 0
	// Parser directives: only at the very top, before any other line.
	for ; i < len(lines); i++ {
		m := directiveRE.FindStringSubmatch(lines[i])
		if m == nil {
			break
		}
		if strings.EqualFold(m[1], "escape") {
			if len(m[2]) != 1 || (m[2] != "\\" && m[2] != "`") {
				return nil, fmt.Errorf("line %d: escape must be \\ or `, got %q", i+1, m[2])
			}
			escape = m[2][0]
		}
	}
	df := &Dockerfile{Args: map[string]string{}}
	var cur *Stage
	for ; i < len(lines); i++ {
		t := strings.TrimSpace(lines[i])
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		start := i + 1
		var b strings.Builder
		for {
			s := strings.TrimLeft(lines[i], " \t")
			trimmed := strings.TrimRight(s, " \t")
			if len(trimmed) > 0 && trimmed[len(trimmed)-1] == escape {
				b.WriteString(trimmed[:len(trimmed)-1])
				b.WriteByte(' ')
				// Skip comment and empty lines inside a continuation.
				for i+1 < len(lines) {
					n := strings.TrimSpace(lines[i+1])
					if n == "" || strings.HasPrefix(n, "#") {
						i++
						continue
					}
					break
				}
				if i+1 >= len(lines) {
					break
				}
				i++
				continue
			}
			b.WriteString(s)
			break
		}
		logical := strings.TrimSpace(b.String())
		kw, rest, _ := strings.Cut(logical, " ")
		if tab := strings.IndexByte(kw, '\t'); tab >= 0 {
			kw, rest = kw[:tab], kw[tab+1:]+" "+rest
		}
		cmd := strings.ToUpper(kw)
		if !knownInstructions[cmd] {
			return nil, fmt.Errorf("line %d: unknown instruction %q", start, kw)
		}
		ins := Instruction{Line: start, Cmd: cmd, Flags: map[string]string{}}
		rest = strings.TrimSpace(rest)
		// Leading --flags (FROM, RUN, COPY, ADD, HEALTHCHECK take them).
		for {
			word, after, _ := strings.Cut(rest, " ")
			m := flagRE.FindStringSubmatch(word)
			if m == nil || cmd == "ENV" || cmd == "LABEL" || cmd == "CMD" || cmd == "ENTRYPOINT" {
				break
			}
			ins.Flags[m[1]] = m[2]
			rest = strings.TrimSpace(after)
		}
		ins.Raw = rest
		if strings.HasPrefix(rest, "[") {
			var arr []string
			if err := json.Unmarshal([]byte(rest), &arr); err == nil {
				ins.Args, ins.JSON = arr, true
			}
		}
		if !ins.JSON {
			ins.Args = strings.Fields(rest)
		}
		// Heredocs: their bodies follow the instruction line.
		if cmd == "RUN" || cmd == "COPY" || cmd == "ADD" {
			for _, m := range heredocRE.FindAllStringSubmatch(rest, -1) {
				word, dash := m[3], m[1] == "-"
				for i++; ; i++ {
					if i >= len(lines) {
						return nil, fmt.Errorf("line %d: heredoc %s is not terminated", start, word)
					}
					l := lines[i]
					if dash {
						l = strings.TrimLeft(l, "\t")
					}
					if l == word {
						break
					}
				}
			}
		}
		switch cmd {
		case "FROM":
			if len(ins.Args) == 0 {
				return nil, fmt.Errorf("line %d: FROM needs an image", start)
			}
			st := Stage{Base: expandArgs(ins.Args[0], df.Args), Line: start}
			if len(ins.Args) >= 3 && strings.EqualFold(ins.Args[1], "AS") {
				st.Name = strings.ToLower(ins.Args[2])
			} else if len(ins.Args) != 1 {
				return nil, fmt.Errorf("line %d: FROM takes IMAGE [AS NAME], got %q", start, rest)
			}
			df.Stages = append(df.Stages, st)
			cur = &df.Stages[len(df.Stages)-1]
		case "ARG":
			if cur == nil {
				for _, a := range ins.Args {
					k, v, _ := strings.Cut(a, "=")
					df.Args[k] = strings.Trim(v, `"'`)
				}
				continue
			}
			cur.Instructions = append(cur.Instructions, ins)
		default:
			if cur == nil {
				return nil, fmt.Errorf("line %d: %s before the first FROM", start, cmd)
			}
			cur.Instructions = append(cur.Instructions, ins)
		}
	}
	if len(df.Stages) == 0 {
		return nil, fmt.Errorf("no FROM instruction")
	}
	return df, nil
}

var knownInstructions = map[string]bool{
	"ADD": true, "ARG": true, "CMD": true, "COPY": true, "ENTRYPOINT": true, "ENV": true,
	"EXPOSE": true, "FROM": true, "HEALTHCHECK": true, "LABEL": true, "MAINTAINER": true,
	"ONBUILD": true, "RUN": true, "SHELL": true, "STOPSIGNAL": true, "USER": true,
	"VOLUME": true, "WORKDIR": true,
}

func expandArgs(s string, args map[string]string) string {
	return argRefRE.ReplaceAllStringFunc(s, func(ref string) string {
		name := argRefRE.FindStringSubmatch(ref)[1]
		if v, ok := args[name]; ok {
			return v
		}
		return ref
	})
}

// Final returns the last stage, the one an image is built from.
func (d *Dockerfile) Final() *Stage { return &d.Stages[len(d.Stages)-1] }

// User returns the user of the stage's last USER instruction, or "" when
// the stage has none (the base image's user, root for the official images).
func (s *Stage) User() string {
	u := ""
	for _, ins := range s.Instructions {
		if ins.Cmd == "USER" && len(ins.Args) > 0 {
			u = ins.Args[0]
		}
	}
	return u
}

// Env returns the stage's ENV settings, in both the KEY=VALUE and the
// legacy "KEY VALUE" forms.
func (s *Stage) Env() map[string]string {
	env := map[string]string{}
	for _, ins := range s.Instructions {
		if ins.Cmd != "ENV" || len(ins.Args) == 0 {
			continue
		}
		if !strings.Contains(ins.Args[0], "=") {
			env[ins.Args[0]] = strings.Join(ins.Args[1:], " ")
			continue
		}
		for _, a := range ins.Args {
			if k, v, ok := strings.Cut(a, "="); ok {
				env[k] = strings.Trim(v, `"'`)
			}
		}
	}
	return env
}

// pinnedTagRE accepts a tag that names a release: a full x.y.z version
// (1.26.8-bookworm, v3.5.25), a date (bookworm-20260824-slim), or MinIO's
// RELEASE.2024-12-18T13-15-44Z.
var pinnedTagRE = regexp.MustCompile(`(^|[^0-9])v?\d+\.\d+\.\d+|(^|[^0-9])20\d{6}([^0-9]|$)|RELEASE\.\d{4}-\d{2}-\d{2}T`)

// CheckImagePinned returns an error unless ref names an image by digest or
// by a tag that names a release, not "latest", a bare major ("golang:1.26")
// or no tag at all.
func CheckImagePinned(ref string) error {
	if strings.Contains(ref, "$") {
		return fmt.Errorf("image %q depends on an unresolved variable", ref)
	}
	if _, digest, ok := strings.Cut(ref, "@"); ok {
		if strings.HasPrefix(digest, "sha256:") && len(digest) == len("sha256:")+64 {
			return nil
		}
		return fmt.Errorf("image %q: malformed digest", ref)
	}
	name := ref
	if slash := strings.LastIndexByte(ref, '/'); slash >= 0 {
		name = ref[slash+1:]
	}
	_, tag, ok := strings.Cut(name, ":")
	switch {
	case !ok || tag == "":
		return fmt.Errorf("image %q has no tag: pin a release", ref)
	case tag == "latest" || strings.HasPrefix(tag, "latest-"):
		return fmt.Errorf("image %q uses latest: pin a release", ref)
	case !pinnedTagRE.MatchString(tag):
		return fmt.Errorf("image %q: tag %q names no release (want x.y.z, a date or a digest)", ref, tag)
	}
	return nil
}

// RuntimeFiles are the paths that the runtime stage must copy from the
// build: the ONNX Runtime library, the MiniLM text encoder and the trained
// dual encoder.
var RuntimeFiles = []string{"libonnxruntime.so", "models/minilm", "encoder/weights"}

// CheckDockerfile checks lander's Dockerfile: every base image pinned, the
// final stage running as a non-root USER, the runtime files of RuntimeFiles
// copied into the final stage from an earlier one, its LANDER_* ENV names
// known to lander's configuration, and ONNXRUNTIME_LIB naming the copied
// library. requireFiles lists the RuntimeFiles to require (nil: all).
func CheckDockerfile(path string, requireFiles []string) []error {
	f, err := os.Open(path)
	if err != nil {
		return []error{err}
	}
	defer f.Close()
	df, err := ParseDockerfile(f)
	if err != nil {
		return []error{fmt.Errorf("%s: %w", path, err)}
	}
	var errs []error
	bad := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: %s", path, line, fmt.Sprintf(format, args...)))
	}
	stages := map[string]bool{}
	for _, st := range df.Stages {
		if !stages[strings.ToLower(st.Base)] && st.Base != "scratch" {
			if err := CheckImagePinned(st.Base); err != nil {
				bad(st.Line, "FROM: %v", err)
			}
		}
		if st.Name != "" {
			stages[st.Name] = true
		}
	}
	final := df.Final()
	switch u := final.User(); {
	case u == "":
		bad(final.Line, "final stage has no USER: it would run as root")
	case isRootUser(u):
		bad(final.Line, "final stage runs as USER %s (root)", u)
	}
	if requireFiles == nil {
		requireFiles = RuntimeFiles
	}
	dests := map[string]string{}
	for _, want := range requireFiles {
		found := false
		for _, ins := range final.Instructions {
			if ins.Cmd != "COPY" || ins.Flags["from"] == "" || len(ins.Args) < 2 {
				continue
			}
			for _, src := range ins.Args[:len(ins.Args)-1] {
				if strings.Contains(src, want) {
					found = true
					dests[want] = ins.Args[len(ins.Args)-1]
				}
			}
		}
		if !found {
			bad(final.Line, "final stage does not COPY --from a build stage %s", want)
		}
	}
	env := final.Env()
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	cfg := config.Default()
	if err := cfg.ApplyEnv(environ); err != nil {
		bad(final.Line, "ENV: %v", err)
	}
	if lib, ok := env["ONNXRUNTIME_LIB"]; ok {
		if d, copied := dests["libonnxruntime.so"]; copied && d != lib && !strings.HasPrefix(lib, strings.TrimSuffix(d, "/")+"/") {
			bad(final.Line, "ONNXRUNTIME_LIB=%s is not where the library is copied (%s)", lib, d)
		}
	}
	return errs
}

func isRootUser(u string) bool {
	name, _, _ := strings.Cut(u, ":")
	return name == "root" || name == "0"
}
