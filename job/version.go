package main

import (
	"fmt"
	"runtime/debug"
)

// version and revision are stamped at build time where Go cannot read them itself: the image's
// build context has no .git, so the Dockerfile passes them as build arguments:
//
//	go build -ldflags "-X main.version=1.2.0 -X main.revision=$(git rev-parse HEAD)" ./job
var (
	version  string
	revision string
)

// build is what this binary is: its version, and the VCS revision it was built from.
type build struct {
	Version  string
	Revision string
	Modified bool // built from a work tree with uncommitted changes
}

// currentBuild prefers the stamped values and falls back on what `go build` recorded from the
// work tree (vcs.revision, vcs.modified).
func currentBuild() build {
	b := build{Version: version, Revision: revision}
	if info, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && revision == "":
				b.Revision = s.Value
			case s.Key == "vcs.modified" && revision == "":
				b.Modified = s.Value == "true"
			}
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	if b.Revision == "" {
		b.Revision = "unknown"
	}
	return b
}

// revisionLabel is the revision as logged: "+modified" marks uncommitted changes.
func (b build) revisionLabel() string {
	if b.Modified {
		return b.Revision + "+modified"
	}
	return b.Revision
}

func (b build) String() string {
	return fmt.Sprintf("uptime-job %s (revision %s)", b.Version, b.revisionLabel())
}
