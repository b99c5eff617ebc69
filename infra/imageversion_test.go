package main

import (
	"os"
	"strings"
	"testing"
)

// The built image carries the commit, and the stack outputs say which image
// and which commit a deploy runs.
func TestImageIsStampedAndShown(t *testing.T) {
	want := imageBuildArgs()
	if os.Getenv("GITHUB_SHA") == "" && want["REVISION"] != nil && len(*want["REVISION"]) != 40 {
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
