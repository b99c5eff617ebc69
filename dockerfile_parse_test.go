// The small Dockerfile, shell and .dockerignore parsers the image tests read the
// repository's files with; Docker's own rules, closely enough for this repository.
package uptime_test

import (
	"bufio"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction with its continuation lines joined.
type instruction struct {
	Line int    // line number of its first line
	Cmd  string // upper-cased keyword: FROM, RUN, COPY, …
	Args string // everything after the keyword, continuations joined by a space
}

// stage is one FROM and the instructions that follow it up to the next FROM.
type stage struct {
	From     instruction
	Image    string // image reference as written (may be a previous stage's name)
	Platform string // value of --platform, if any
	Name     string // name after AS, if any
	Body     []instruction
}

// parseDockerfile splits a Dockerfile into instructions. It follows Docker's
// rules closely enough for this repository's Dockerfile: comments are lines
// whose first non-blank character is '#'; a trailing backslash continues the
// instruction on the next line; comment and blank lines inside a continued
// instruction are skipped. Heredocs are not supported (and not used).
func parseDockerfile(t *testing.T, text string) []instruction {
	t.Helper()
	var (
		out     []instruction
		cur     strings.Builder
		start   int
		pending bool
	)
	sc := bufio.NewScanner(strings.NewReader(text))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), " \t\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue // blank and comment lines, also inside a continuation
		}
		if strings.Contains(trimmed, "<<") && regexp.MustCompile(`<<-?["']?[A-Za-z_]+`).MatchString(trimmed) {
			t.Fatalf("Dockerfile:%d: heredocs are not supported by this test's parser", n)
		}
		if !pending {
			start = n
			cur.Reset()
		} else {
			cur.WriteByte(' ')
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSpace(strings.TrimSuffix(trimmed, `\`)))
			pending = true
			continue
		}
		cur.WriteString(trimmed)
		pending = false
		out = append(out, splitInstruction(start, cur.String()))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if pending {
		t.Fatalf("Dockerfile:%d: the last instruction ends with a line continuation", start)
	}
	return out
}

func splitInstruction(line int, s string) instruction {
	cmd, args, _ := strings.Cut(s, " ")
	return instruction{Line: line, Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)}
}

// stages groups instructions by FROM. Instructions before the first FROM
// (global ARGs) are returned separately.
func stages(t *testing.T, ins []instruction) (global []instruction, out []stage) {
	t.Helper()
	for _, in := range ins {
		if in.Cmd != "FROM" {
			if len(out) == 0 {
				global = append(global, in)
			} else {
				out[len(out)-1].Body = append(out[len(out)-1].Body, in)
			}
			continue
		}
		st := stage{From: in}
		var rest []string
		for _, f := range strings.Fields(in.Args) {
			if p, ok := strings.CutPrefix(f, "--platform="); ok {
				st.Platform = p
				continue
			}
			rest = append(rest, f)
		}
		switch {
		case len(rest) == 1:
			st.Image = rest[0]
		case len(rest) == 3 && strings.EqualFold(rest[1], "AS"):
			st.Image, st.Name = rest[0], rest[2]
		default:
			t.Fatalf("Dockerfile:%d: cannot read FROM %q", in.Line, in.Args)
		}
		out = append(out, st)
	}
	return global, out
}

// shellWords splits a shell command line into words, honouring single and
// double quotes and backslash escapes; the operators && || ; | end a word
// and are returned as words of their own.
func shellWords(s string) []string {
	var (
		words []string
		cur   strings.Builder
		inW   bool
		quote rune
	)
	flush := func() {
		if inW {
			words = append(words, cur.String())
			cur.Reset()
			inW = false
		}
	}
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else if r == '\\' && quote == '"' && i+1 < len(rs) {
				i++
				cur.WriteRune(rs[i])
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inW = r, true
		case r == '\\' && i+1 < len(rs):
			i++
			cur.WriteRune(rs[i])
			inW = true
		case r == ' ' || r == '\t':
			flush()
		case r == '&' || r == '|' || r == ';':
			flush()
			op := string(r)
			if i+1 < len(rs) && rs[i+1] == r && r != ';' {
				op += string(r)
				i++
			}
			words = append(words, op)
		default:
			cur.WriteRune(r)
			inW = true
		}
	}
	flush()
	return words
}

// goBuild is one `go build` found in a RUN instruction.
type goBuild struct {
	Env      map[string]string // VAR=value words directly in front of `go`
	Flags    []string          // the flags, each with its value ("-o /out/x")
	Output   string            // value of -o
	Packages []string          // the non-flag arguments
}

// flagsWithValue are the go build flags that take their value as the next word.
var flagsWithValue = map[string]bool{
	"-o": true, "-ldflags": true, "-gcflags": true, "-asmflags": true, "-gccgoflags": true,
	"-tags": true, "-mod": true, "-modfile": true, "-p": true, "-pkgdir": true,
	"-buildmode": true, "-installsuffix": true, "-overlay": true, "-pgo": true,
	"-toolexec": true, "-compiler": true, "-C": true,
}

func findGoBuilds(run string) []goBuild {
	words := shellWords(run)
	var out []goBuild
	for i := 0; i+1 < len(words); i++ {
		if words[i] != "go" || words[i+1] != "build" {
			continue
		}
		b := goBuild{Env: map[string]string{}}
		for j := i - 1; j >= 0; j-- { // VAR=value prefixes of this simple command
			k, v, ok := strings.Cut(words[j], "=")
			if !ok || !regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`).MatchString(k) {
				break
			}
			b.Env[k] = v
		}
		for j := i + 2; j < len(words); j++ {
			w := words[j]
			if w == "&&" || w == "||" || w == ";" || w == "|" || w == "&" {
				break
			}
			if strings.HasPrefix(w, "-") {
				name, val, hasVal := strings.Cut(strings.TrimPrefix(w, "-"), "=")
				name = "-" + strings.TrimPrefix(name, "-")
				if !hasVal && flagsWithValue[name] && j+1 < len(words) {
					j++
					val, hasVal = words[j], true
				}
				if name == "-o" {
					b.Output = val
				}
				if hasVal {
					b.Flags = append(b.Flags, name+" "+val)
				} else {
					b.Flags = append(b.Flags, name)
				}
				continue
			}
			b.Packages = append(b.Packages, w)
		}
		out = append(out, b)
	}
	return out
}

func lastOf(ins []instruction, cmd string) *instruction {
	for i := len(ins) - 1; i >= 0; i-- {
		if ins[i].Cmd == cmd {
			return &ins[i]
		}
	}
	return nil
}

// dockerignore evaluates .dockerignore rules the way Docker does: patterns
// are cleaned paths relative to the context root, '*' and '?' do not cross
// '/', '**' matches any number of directories, a pattern that matches a
// directory matches everything below it, '!' re-includes, and the last
// matching pattern wins.
type dockerignore []string

func (d dockerignore) excluded(p string) bool {
	out := false
	for _, pat := range d {
		neg := strings.HasPrefix(pat, "!")
		pat = strings.TrimPrefix(pat, "!")
		pat = strings.TrimPrefix(path.Clean(strings.TrimSpace(pat)), "/")
		if matchOrParent(pat, p) {
			out = !neg
		}
	}
	return out
}

func matchOrParent(pat, p string) bool {
	segs := strings.Split(p, "/")
	for i := len(segs); i > 0; i-- {
		if matchSegs(strings.Split(pat, "/"), segs[:i]) {
			return true
		}
	}
	return false
}

func matchSegs(pat, p []string) bool {
	if len(pat) == 0 {
		return len(p) == 0
	}
	if pat[0] == "**" {
		for i := 0; i <= len(p); i++ {
			if matchSegs(pat[1:], p[i:]) {
				return true
			}
		}
		return false
	}
	if len(p) == 0 {
		return false
	}
	ok, err := path.Match(pat[0], p[0])
	return err == nil && ok && matchSegs(pat[1:], p[1:])
}

func readDockerignore(t *testing.T) dockerignore {
	t.Helper()
	var d dockerignore
	for _, l := range strings.Split(readRepoFile(t, ".dockerignore"), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			d = append(d, l)
		}
	}
	return d
}

// labelPairs reads the key=value pairs of a LABEL instruction.
func labelPairs(args string) map[string]string {
	out := map[string]string{}
	for _, w := range shellWords(args) {
		if k, v, ok := strings.Cut(w, "="); ok {
			out[k] = v
		}
	}
	return out
}

// TestParserSelfCheck keeps the parsers of this file honest on tricky input.
func TestParserSelfCheck(t *testing.T) {
	ins := parseDockerfile(t, "# c\nFROM a@sha256:"+strings.Repeat("0", 64)+" AS b\nRUN X=1 \\\n  # inner comment\n  go build -o /o \\\n    -ldflags=\"-s -w\" ./job && echo \"a;b\"\n")
	if len(ins) != 2 || ins[1].Cmd != "RUN" || ins[1].Line != 3 {
		t.Fatalf("parsed %+v", ins)
	}
	bs := findGoBuilds(ins[1].Args)
	if len(bs) != 1 || bs[0].Output != "/o" || bs[0].Env["X"] != "1" || !slices.Equal(bs[0].Packages, []string{"./job"}) {
		t.Fatalf("go build parsed as %+v", bs)
	}
	d := dockerignore{"*", "!job/", "**/*_test.go", "infra"}
	for p, want := range map[string]bool{"x": true, "job/a.go": false, "job/a_test.go": true, "job/sub/b_test.go": true, "infra/x": true} {
		if got := d.excluded(p); got != want {
			t.Errorf("excluded(%s) = %v, want %v", p, got, want)
		}
	}
}
