// Tests of the job's container image that need no Docker engine: the root
// Dockerfile is parsed and checked for what it must say, the .dockerignore is
// evaluated with Docker's matching rules, and the same `go build` the image
// runs is done here for linux/arm64 and the result inspected.
package uptime_test

import (
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return string(b)
}

var digestRef = regexp.MustCompile(`^[a-z0-9./_-]+(:[A-Za-z0-9._-]+)?@sha256:[0-9a-f]{64}$`)

func TestDockerfile(t *testing.T) {
	ins := parseDockerfile(t, readRepoFile(t, "Dockerfile"))
	global, sts := stages(t, ins)
	if len(sts) < 2 {
		t.Fatalf("want a multi-stage Dockerfile, found %d FROM", len(sts))
	}
	for _, in := range global {
		if in.Cmd != "ARG" {
			t.Errorf("Dockerfile:%d: %s before the first FROM", in.Line, in.Cmd)
		}
	}

	// Every base image is pinned by digest (a FROM naming an earlier stage is fine).
	names := map[string]bool{}
	for _, st := range sts {
		if !names[st.Image] && !digestRef.MatchString(st.Image) {
			t.Errorf("Dockerfile:%d: FROM %s is not pinned by @sha256 digest", st.From.Line, st.Image)
		}
		if st.Name != "" {
			names[st.Name] = true
		}
	}

	// No secret goes into the image's configuration.
	secret := regexp.MustCompile(`(?i)database_url|passw(or)?d|pgpass|secret|postgres(ql)?://`)
	for _, in := range ins {
		if (in.Cmd == "ENV" || in.Cmd == "ARG" || in.Cmd == "LABEL") && secret.MatchString(in.Args) {
			t.Errorf("Dockerfile:%d: %s %s looks like it carries a credential; DATABASE_URL comes from the task's secrets", in.Line, in.Cmd, in.Args)
		}
	}

	build, final := sts[0], sts[len(sts)-1]

	t.Run("build stage", func(t *testing.T) {
		if build.Name == "" {
			t.Fatal("the build stage has no name (FROM … AS build)")
		}
		if !strings.HasPrefix(build.Image, "golang:") {
			t.Errorf("build stage image %s, want golang:<version>", build.Image)
		}
		if build.Platform != "$BUILDPLATFORM" && build.Platform != "${BUILDPLATFORM}" {
			t.Errorf("build stage --platform=%q, want $BUILDPLATFORM (cross-compile natively, no emulation)", build.Platform)
		}
		argTargetArch, modDownload, copyMod := -1, -1, -1
		var builds []goBuild
		buildAt := -1
		for i, in := range build.Body {
			switch in.Cmd {
			case "ARG":
				for _, f := range strings.Fields(in.Args) {
					if k, _, _ := strings.Cut(f, "="); k == "TARGETARCH" {
						argTargetArch = i
					}
				}
			case "COPY":
				f := strings.Fields(in.Args)
				if slices.Contains(f, "go.mod") && slices.Contains(f, "go.sum") && copyMod < 0 {
					copyMod = i
				}
			case "RUN":
				if strings.Contains(in.Args, "go list -deps ./job") && modDownload < 0 {
					modDownload = i
				}
				if bs := findGoBuilds(in.Args); len(bs) > 0 {
					builds = append(builds, bs...)
					buildAt = i
				}
			}
		}
		if len(builds) != 1 {
			t.Fatalf("want exactly one `go build` in the build stage, found %d", len(builds))
		}
		b := builds[0]
		if !slices.Equal(b.Packages, []string{"./job"}) {
			t.Errorf("go build compiles %q, want only ./job", b.Packages)
		}
		if b.Env["CGO_ENABLED"] != "0" {
			t.Errorf("go build runs with CGO_ENABLED=%q, want 0", b.Env["CGO_ENABLED"])
		}
		if a := b.Env["GOARCH"]; a != "$TARGETARCH" && a != "${TARGETARCH}" {
			t.Errorf("go build runs with GOARCH=%q, want $TARGETARCH", a)
		}
		if o := b.Env["GOOS"]; o != "linux" && o != "$TARGETOS" && o != "${TARGETOS}" {
			t.Errorf("go build runs with GOOS=%q, want linux or $TARGETOS", o)
		}
		if !slices.Contains(b.Flags, "-trimpath") {
			t.Errorf("go build flags %q lack -trimpath", b.Flags)
		}
		if !slices.ContainsFunc(b.Flags, func(f string) bool {
			v, ok := strings.CutPrefix(f, "-ldflags ")
			return ok && slices.Contains(strings.Fields(v), "-s") && slices.Contains(strings.Fields(v), "-w")
		}) {
			t.Errorf("go build flags %q lack -ldflags=\"-s -w\"", b.Flags)
		}
		if b.Output == "" {
			t.Error("go build has no -o")
		}
		if argTargetArch < 0 || argTargetArch > buildAt {
			t.Error("ARG TARGETARCH is not declared in the build stage before the go build")
		}
		if copyMod < 0 || modDownload < 0 || !(copyMod < modDownload && modDownload < buildAt) {
			t.Error("want COPY go.mod go.sum, then RUN go list -deps ./job (only the job's modules), then the build")
		}

		// The final stage runs exactly what was built.
		var copied []string
		for _, in := range final.Body {
			f := strings.Fields(in.Args)
			if in.Cmd == "COPY" && len(f) == 3 && f[0] == "--from="+build.Name && f[1] == b.Output {
				copied = append(copied, f[2])
			}
		}
		if len(copied) != 1 {
			t.Fatalf("final stage: want one COPY --from=%s %s <dst>, found %q", build.Name, b.Output, copied)
		}
		ep := lastOf(final.Body, "ENTRYPOINT")
		var argv []string
		if ep == nil || json.Unmarshal([]byte(ep.Args), &argv) != nil || len(argv) == 0 {
			t.Fatalf("final stage: want ENTRYPOINT in exec (JSON) form, got %+v", ep)
		}
		if argv[0] != copied[0] {
			t.Errorf("ENTRYPOINT %q does not run the binary copied to %s", argv, copied[0])
		}
		if lastOf(final.Body, "CMD") != nil {
			t.Error("final stage sets CMD: the task's command must be only the job's flags")
		}
	})

	t.Run("final stage", func(t *testing.T) {
		img := final.Image
		if !strings.HasPrefix(img, "gcr.io/distroless/static") && img != "scratch" {
			t.Errorf("final image %s, want gcr.io/distroless/static* or scratch", img)
		}
		if final.Platform != "" {
			t.Errorf("final stage --platform=%s: let it follow the target platform", final.Platform)
		}
		for _, in := range final.Body {
			if in.Cmd == "RUN" {
				t.Errorf("Dockerfile:%d: RUN in the final stage (distroless has no shell)", in.Line)
			}
		}
		u := lastOf(final.Body, "USER")
		if u == nil {
			t.Fatal("final stage has no USER")
		}
		user, group, _ := strings.Cut(u.Args, ":")
		for _, id := range []string{user, group} {
			if id == "0" || id == "root" {
				t.Errorf("USER %s runs as root", u.Args)
			}
		}
		if user == "" {
			t.Errorf("USER %q names no user", u.Args)
		}
	})
}

// The image says which version and commit it holds, from the build arguments
// the binary is stamped with.
func TestDockerfileLabelsTheVersion(t *testing.T) {
	_, sts := stages(t, parseDockerfile(t, readRepoFile(t, "Dockerfile")))
	final := sts[len(sts)-1]
	labels := map[string]string{}
	args := map[string]bool{}
	for _, in := range final.Body {
		switch in.Cmd {
		case "LABEL":
			for k, v := range labelPairs(in.Args) {
				labels[k] = v
			}
		case "ARG":
			name, _, _ := strings.Cut(in.Args, "=")
			args[name] = true
		}
	}
	for key, arg := range map[string]string{
		"org.opencontainers.image.version":  "VERSION",
		"org.opencontainers.image.revision": "REVISION",
		"org.opencontainers.image.source":   "SOURCE",
		"org.opencontainers.image.created":  "CREATED",
	} {
		v, ok := labels[key]
		if !ok {
			t.Errorf("the final stage has no label %s", key)
			continue
		}
		if v != "$"+arg && v != "${"+arg+"}" {
			t.Errorf("label %s = %q, want $%s", key, v, arg)
		}
		if !args[arg] {
			t.Errorf("the final stage does not declare ARG %s, so label %s would be empty", arg, key)
		}
	}
}

func TestDockerignore(t *testing.T) {
	d := readDockerignore(t)
	for _, p := range []string{
		"cdk.out", "cdk.out/manifest.json", "infra/cdk.out/tree.json",
		".git", ".git/HEAD", "node_modules/aws-cdk/package.json", "infra/node_modules/x/y.js",
		"infra", "infra/main.go", "infra/stack_test.go", "cdk.json",
		"docs/runbook.md", "scripts/backfill.sh", "testdata/schema.sql",
		"internal/testdb/testdata/seed.sql", "job/main_test.go", "job/uptime/plan_test.go",
		".pgdata/PG_VERSION", "README.md",
	} {
		if !d.excluded(p) {
			t.Errorf(".dockerignore lets %s into the build context", p)
		}
	}
	for _, p := range []string{
		"go.mod", "go.sum", "job/main.go", "job/uptime/plan.go", "job/store/store.go",
		"internal/testdb/testdb.go",
	} {
		if d.excluded(p) {
			t.Errorf(".dockerignore keeps %s out of the build context; the image's go build needs it", p)
		}
	}
}

// TestJobCrossCompilesForArm64 runs the image's go build for linux/arm64 and
// checks the binary is a static AArch64 ELF; it also checks that every source
// file that build reads survives the .dockerignore.
func TestJobCrossCompilesForArm64(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles the job; skipped with -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go not on PATH: %v", err)
	}
	out := filepath.Join(t.TempDir(), "uptime-job")
	env := append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "GOFLAGS=-mod=readonly")
	cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./job")
	cmd.Env = env
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./job for linux/arm64: %v\n%s", err, b)
	}

	f, err := elf.Open(out)
	if err != nil {
		t.Fatalf("the result is not an ELF file: %v", err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 || f.Class != elf.ELFCLASS64 {
		t.Errorf("machine %v class %v, want EM_AARCH64 ELFCLASS64", f.Machine, f.Class)
	}
	if f.Type != elf.ET_EXEC {
		t.Errorf("ELF type %v, want ET_EXEC (a static, non-PIE executable)", f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has a PT_INTERP program header: it needs a dynamic loader")
		}
		if p.Type == elf.PT_DYNAMIC {
			t.Error("the binary has a PT_DYNAMIC program header: it is dynamically linked")
		}
	}
	if libs, err := f.ImportedLibraries(); err == nil && len(libs) > 0 {
		t.Errorf("the binary needs shared libraries (DT_NEEDED): %q", libs)
	}

	// Every file of the module that this build compiles is in the image's context.
	list := exec.Command(goBin, "list", "-deps",
		"-f", `{{if .Module}}{{if .Module.Main}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{end}}{{end}}`,
		"./job")
	list.Env = env
	b, err := list.Output()
	if err != nil {
		t.Fatalf("go list -deps ./job: %v", err)
	}
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	d := readDockerignore(t)
	files := 0
	for _, abs := range strings.Fields(string(b)) {
		rel, err := filepath.Rel(root, abs)
		if err != nil {
			t.Fatal(err)
		}
		files++
		if d.excluded(filepath.ToSlash(rel)) {
			t.Errorf(".dockerignore excludes %s, which go build ./job compiles", rel)
		}
	}
	if files == 0 {
		t.Error("go list found no source files of ./job")
	}
}
