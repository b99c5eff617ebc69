package uptime

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const embeddedBundle = "job/connect/certs/rds-global-bundle.pem"

// checkBundle runs scripts/check-rds-bundle.sh against url and returns its exit code and output.
func checkBundle(t *testing.T, url string) (int, string) {
	t.Helper()
	out, err := exec.Command("scripts/check-rds-bundle.sh", url).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	default:
		t.Fatalf("scripts/check-rds-bundle.sh: %v", err)
		return -1, ""
	}
}

// TestCheckRDSBundle runs the comparison the deploy workflow runs, against local copies (no
// network in tests): the same bundle passes, with CRLF line endings too; a bundle with a root
// less, or with other bytes, fails naming what differs; a missing or empty bundle, or a plain
// http URL, is no bundle to compare.
func TestCheckRDSBundle(t *testing.T) {
	for _, tool := range []string{"curl", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	embedded, err := os.ReadFile(embeddedBundle)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return "file://" + p
	}
	const end = "-----END CERTIFICATE-----\n"
	blocks := strings.SplitAfter(string(embedded), end)
	if len(blocks) < 3 {
		t.Fatalf("%s holds %d blocks", embeddedBundle, len(blocks))
	}
	last := blocks[len(blocks)-2] // the final element is what follows the last END line
	// The subject of the root dropped below, as openssl prints it.
	lastPath := filepath.Join(dir, "last.pem")
	if err := os.WriteFile(lastPath, []byte(last), 0o644); err != nil {
		t.Fatal(err)
	}
	subject, err := exec.Command("openssl", "x509", "-in", lastPath, "-noout", "-subject").Output()
	if err != nil {
		t.Fatal(err)
	}
	cn := strings.TrimSpace(string(subject))
	cn = cn[strings.Index(cn, "CN")+len("CN"):]
	cn = strings.TrimLeft(cn, " =")

	for _, c := range []struct {
		name, url string
		code      int
		says      []string
	}{
		{"the same bundle", write("same.pem", string(embedded)), 0, []string{"is the published one", "102 certificates"}},
		{"CRLF line endings", write("crlf.pem", strings.ReplaceAll(string(embedded), "\n", "\r\n")), 0, []string{"is the published one"}},
		{"a root less", write("less.pem", strings.Join(blocks[:len(blocks)-2], "")), 1, []string{"differs", "only embedded:\n  ", cn}},
		{"a root more", write("more.pem", string(embedded)+last), 1, []string{"differs"}},
		{"missing", "file://" + filepath.Join(dir, "absent.pem"), 2, []string{"could not get the published RDS bundle"}},
		{"no certificate", write("empty.pem", "<html>not found</html>\n"), 2, []string{"holds no certificate"}},
		{"plain http", "http://127.0.0.1:9/global-bundle.pem", 2, []string{"could not get"}},
	} {
		code, out := checkBundle(t, c.url)
		if code != c.code {
			t.Errorf("%s: exit %d, want %d\n%s", c.name, code, c.code, out)
		}
		for _, s := range c.says {
			if !strings.Contains(out, s) {
				t.Errorf("%s: the output does not say %q:\n%s", c.name, s, out)
			}
		}
	}
}

// TestDeployChecksTheRDSBundleFirst: the deploy workflow compares the bundle in the job every
// deploy job needs, before any cdk deploy, with the script docs/deploy.md gives for a manual deploy.
func TestDeployChecksTheRDSBundleFirst(t *testing.T) {
	b, err := os.ReadFile(".github/workflows/deploy.yml")
	if err != nil {
		t.Fatal(err)
	}
	wf := string(b)
	_, jobs, _ := strings.Cut(wf, "\njobs:\n")
	envJob, rest, ok := strings.Cut(jobs, "\n  deploy:\n")
	if !ok || !strings.HasPrefix(jobs, "  environments:\n") {
		t.Fatal("deploy.yml: want the jobs environments, then deploy")
	}
	deployJob := rest
	if loc := regexp.MustCompile(`\n  [a-z]`).FindStringIndex(rest); loc != nil {
		deployJob = rest[:loc[0]] // up to the next job
	}
	if !strings.Contains(deployJob, "needs: environments") {
		t.Error("deploy.yml: the deploy job does not need the environments job")
	}
	if !strings.Contains(envJob, "run: scripts/check-rds-bundle.sh\n") {
		t.Error("deploy.yml: the environments job, which every deploy needs, does not run scripts/check-rds-bundle.sh")
	}
	if strings.Contains(envJob, "cdk deploy") || strings.Index(wf, "scripts/check-rds-bundle.sh") > strings.Index(wf, "cdk deploy") {
		t.Error("deploy.yml: something is deployed before the RDS bundle is checked")
	}
	deploy, err := os.ReadFile("docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(deploy), "scripts/check-rds-bundle.sh") {
		t.Error("docs/deploy.md does not say to compare the bundle by hand before a manual deploy")
	}
}
