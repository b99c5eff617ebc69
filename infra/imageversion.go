package main

import (
	"os"
	"os/exec"
	"strings"
)

// imageBuildArgs are the Dockerfile's VERSION, REVISION, SOURCE and CREATED:
// the job's --version, its log records, its EMF record and the image's OCI
// labels all say what was built. In GitHub Actions they come from the run's
// environment, elsewhere from git; without either they are left to the
// Dockerfile's defaults (dev, unknown). Build arguments are part of the asset
// hash, so each commit builds its own image, and the same commit the same one;
// "--dirty" marks a build from uncommitted changes.
func imageBuildArgs() map[string]*string {
	args := map[string]*string{}
	set := func(name, value string) {
		if value = strings.TrimSpace(value); value != "" {
			args[name] = &value
		}
	}
	revision := os.Getenv("GITHUB_SHA")
	if revision == "" {
		revision = gitOutput(exec.Command("git", "rev-parse", "HEAD"))
	}
	set("REVISION", revision)
	set("VERSION", gitOutput(exec.Command("git", "describe", "--tags", "--always", "--dirty")))
	set("CREATED", gitOutput(exec.Command("git", "show", "-s", "--format=%cI", "HEAD")))
	if server, repo := os.Getenv("GITHUB_SERVER_URL"), os.Getenv("GITHUB_REPOSITORY"); server != "" && repo != "" {
		set("SOURCE", server+"/"+repo)
	}
	return args
}

// gitOutput is git's answer in the repository root, or "" where there is no
// git or no repository (a source tarball).
func gitOutput(cmd *exec.Cmd) string {
	cmd.Dir = repoRoot()
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return string(out)
}
