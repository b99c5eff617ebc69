package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The built image carries the commit, and the stack outputs say which image
// and which commit a deploy runs.
func TestImageIsStampedAndShown(t *testing.T) {
	want := imageBuildArgs()
	if want["REVISION"] != nil && len(*want["REVISION"]) != 40 {
		t.Fatalf("REVISION %q is not a commit hash", *want["REVISION"])
	}
	shipped(t, func(t *testing.T, s *synthesized) {
		images := obj(s.assets["dockerImages"])
		if len(images) != 1 {
			t.Fatalf("%d image assets, want 1", len(images))
		}
		for hash, img := range images {
			args := obj(obj(obj(img)["source"])["dockerBuildArgs"])
			for name, v := range want {
				eq(t, "build arg "+name, args[name], *v)
			}
			if want["REVISION"] != nil {
				eq(t, "ImageRevision", obj(s.outputs["ImageRevision"])["Value"], *want["REVISION"])
			}
			v := obj(s.outputs["Image"])["Value"]
			image, _ := obj(v)["Fn::Sub"].(string)
			if image == "" {
				image = renderJoin(v)
			}
			if !strings.HasSuffix(image, ":"+hash) {
				t.Errorf("the Image output %q is not tagged with the asset hash %s", image, hash)
			}
		}
	})
}

// In a repository of its own: the revision is the checkout's HEAD even when GITHUB_SHA names
// another commit (deploy.yml's workflow_run checks out head_sha), the CLI's write to
// cdk.context.json does not make the build -dirty, and any other change does.
func TestImageLabelsTheCheckoutAndIgnoresTheContextCache(t *testing.T) {
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@acme-corp.io"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q")
	write(contextFile, "{}\n")
	write("main.go", "package main\n")
	git("add", ".")
	git("commit", "-qm", "first")
	head := git("rev-parse", "HEAD")
	t.Setenv("GITHUB_SHA", strings.Repeat("f", 40))

	write(contextFile, `{"availability-zones:account=111111111111:region=eu-west-1": ["eu-west-1a"]}`+"\n")
	args := imageBuildArgsIn(dir)
	eq(t, "revision", *args["REVISION"], head)
	eq(t, "version after the CLI's lookup", *args["VERSION"], head[:7])

	write("main.go", "package main // changed\n")
	eq(t, "version with a source change", *imageBuildArgsIn(dir)["VERSION"], head[:7]+"-dirty")
}
