package uptime

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestImageDownloadsOnlyTheJobsModules runs the image's download step, `go list -deps ./job`,
// on what the build context holds (go.mod, go.sum, job/, internal/), in an empty module cache:
// the job's drivers arrive, the CDK modules that go.mod lists for infra/ never do.
func TestImageDownloadsOnlyTheJobsModules(t *testing.T) {
	if testing.Short() {
		t.Skip("downloads modules")
	}
	src, cache := t.TempDir(), t.TempDir()
	for _, p := range []string{"go.mod", "go.sum", "job", "internal"} {
		if out, err := exec.Command("cp", "-r", p, filepath.Join(src, p)).CombinedOutput(); err != nil {
			t.Fatalf("copy %s: %v\n%s", p, err, out)
		}
	}
	cmd := exec.Command("go", "list", "-deps", "./job")
	cmd.Dir = src
	// -modcacherw: t.TempDir must be able to remove the cache afterwards.
	cmd.Env = append(os.Environ(), "GOMODCACHE="+cache, "GOFLAGS=-modcacherw", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go list -deps ./job: %v\n%s", err, out)
	}
	var zips []string
	err := filepath.WalkDir(filepath.Join(cache, "cache", "download"), func(p string, _ os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".zip") {
			zips = append(zips, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(zips, "\n")
	if !strings.Contains(got, filepath.Join("github.com", "lib", "pq")) {
		t.Errorf("the job's driver lib/pq was not downloaded; zips:\n%s", got)
	}
	for _, heavy := range []string{"aws-cdk-go", "cdk-nag-go", "jsii-runtime-go"} {
		if strings.Contains(got, heavy) {
			t.Errorf("the image's download step fetched %s, which only infra/ needs:\n%s", heavy, got)
		}
	}
}
