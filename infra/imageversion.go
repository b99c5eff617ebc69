package main

import (
	"os"
	"os/exec"
	"strings"
)

// contextFile is the CDK CLI's cache of context lookups. The CLI writes the deployer's
// availability zones into it during a deploy (the new VPC's lookup), so a change to it alone
// says nothing about the source the image is built from.
const contextFile = "cdk.context.json"

// imageBuildArgs are the Dockerfile's VERSION, REVISION, SOURCE and CREATED:
// the job's --version, its log records, its EMF record and the image's OCI
// labels all say what was built. They come from the checkout itself (git), so
// a workflow_run deploy that checks out the run's head_sha labels that commit,
// not GITHUB_SHA (the default branch's newest commit); GITHUB_SHA is only the
// fallback where there is no git. Without either they are left to the
// Dockerfile's defaults (dev, unknown). Build arguments are part of the asset
// hash, so each commit builds its own image, and the same commit the same one;
// "-dirty" marks a build from uncommitted changes.
func imageBuildArgs() map[string]*string { return imageBuildArgsIn(repoRoot()) }

func imageBuildArgsIn(dir string) map[string]*string {
	args := map[string]*string{}
	set := func(name, value string) {
		if value = strings.TrimSpace(value); value != "" {
			args[name] = &value
		}
	}
	revision := gitOutput(dir, "rev-parse", "HEAD")
	if revision == "" {
		revision = os.Getenv("GITHUB_SHA")
	}
	set("REVISION", revision)
	if version := strings.TrimSpace(gitOutput(dir, "describe", "--tags", "--always")); version != "" {
		set("VERSION", version+dirtySuffix(dir))
	}
	set("CREATED", gitOutput(dir, "show", "-s", "--format=%cI", "HEAD"))
	if server, repo := os.Getenv("GITHUB_SERVER_URL"), os.Getenv("GITHUB_REPOSITORY"); server != "" && repo != "" {
		set("SOURCE", server+"/"+repo)
	}
	return args
}

// dirtySuffix is "-dirty" when a tracked file other than cdk.context.json differs from HEAD, as
// `git describe --dirty` would say if the CLI's own writes did not count.
func dirtySuffix(dir string) string {
	if strings.TrimSpace(gitOutput(dir, "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)"+contextFile)) != "" {
		return "-dirty"
	}
	return ""
}

// gitOutput is git's answer in dir, or "" where there is no git or no
// repository (a source tarball).
func gitOutput(dir string, args ...string) string {
	cmd := exec.Command("git", args...) //nolint:gosec // git with this file's own fixed subcommands
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return string(out)
}
