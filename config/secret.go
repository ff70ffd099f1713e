package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Secret is a string that never prints: String, MarshalYAML and MarshalText
// all give "<secret>", so a config dump, a log line or an error that formats a
// config value cannot leak it.
type Secret string

const secretMask = "<secret>"

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return secretMask
}

// GoString implements fmt.GoStringer so %#v masks too.
func (s Secret) GoString() string { return s.String() }

// Format implements fmt.Formatter, so every verb masks: without it, a verb
// that is not for strings (%d) prints the raw value inside "%!d(...)".
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", s.String())
		return
	}
	io.WriteString(f, s.String())
}

// MarshalYAML implements yaml.Marshaler.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalText implements encoding.TextMarshaler (JSON, slog).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// SecretSource yields a secret from exactly one of: an inline value, a file
// (re-read when its modification time or size changes, so rotation needs no
// restart), or an environment variable. Errors name the file or variable,
// never the value.
type SecretSource struct {
	Inline Secret
	File   string
	Env    string

	mu sync.Mutex
	// The last value read from File. Behind a pointer so that printing a
	// SecretSource with fmt (which shows unexported fields without calling
	// their String methods) shows an address, not the value.
	cache *fileSecret
}

type fileSecret struct {
	mtime time.Time
	size  int64
	value string
}

// String describes where the secret comes from, never the value.
func (s *SecretSource) String() string {
	switch {
	case s.Inline != "":
		return "inline " + secretMask
	case s.File != "":
		return "file " + s.File
	case s.Env != "":
		return "env " + s.Env
	}
	return "none"
}

// Value returns the current secret.
func (s *SecretSource) Value() (string, error) {
	switch {
	case s.Inline != "":
		return string(s.Inline), nil
	case s.File != "":
		return s.fromFile()
	case s.Env != "":
		v := strings.TrimSpace(os.Getenv(s.Env))
		if v == "" {
			return "", fmt.Errorf("environment variable %s is empty or unset", s.Env)
		}
		return v, nil
	}
	return "", errors.New("no secret configured")
}

func (s *SecretSource) fromFile() (string, error) {
	fi, err := os.Stat(s.File)
	if err != nil {
		return "", fmt.Errorf("secret file: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.cache; c != nil && fi.ModTime().Equal(c.mtime) && fi.Size() == c.size {
		return c.value, nil
	}
	b, err := os.ReadFile(s.File)
	if err != nil {
		return "", fmt.Errorf("secret file: %w", err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("secret file %s is empty", s.File)
	}
	s.cache = &fileSecret{mtime: fi.ModTime(), size: fi.Size(), value: v}
	return v, nil
}

// TokenSource returns where this target's token comes from (not for App auth).
func (g *GitHubSource) TokenSource() *SecretSource {
	return &SecretSource{Inline: g.Token, File: g.TokenFile, Env: g.TokenEnv}
}

// TokenSource returns where this site's token comes from.
func (j *JiraSource) TokenSource() *SecretSource {
	return &SecretSource{Inline: j.Token, File: j.TokenFile, Env: j.TokenEnv}
}

// PrivateKeySource returns where the App's private key comes from.
func (a *GitHubApp) PrivateKeySource() *SecretSource {
	return &SecretSource{Inline: a.PrivateKey, File: a.PrivateKeyFile}
}

// fmt prints the fields of a struct reached through a pointer without
// calling their methods when the verb does not suit a pointer (%s, %d, %q):
// it writes "%!s(*config.GitHubSource=&{... raw fields ...})", which would
// show a Secret. The types that hold secrets, and Config, which holds them,
// therefore implement fmt.Formatter and print as with %v or %+v.

// Format implements fmt.Formatter.
func (g *GitHubSource) Format(f fmt.State, verb rune) {
	type plain GitHubSource
	formatMasked(f, "GitHubSource", (*plain)(g))
}

// Format implements fmt.Formatter.
func (a *GitHubApp) Format(f fmt.State, verb rune) {
	type plain GitHubApp
	formatMasked(f, "GitHubApp", (*plain)(a))
}

// Format implements fmt.Formatter.
func (j *JiraSource) Format(f fmt.State, verb rune) {
	type plain JiraSource
	formatMasked(f, "JiraSource", (*plain)(j))
}

// Format implements fmt.Formatter.
func (c *Config) Format(f fmt.State, verb rune) {
	type plain Config
	formatMasked(f, "Config", (*plain)(c))
}

// formatMasked prints v, a pointer to a method-less copy of the struct type
// name, with %#v, %+v or %v according to f's flags.
func formatMasked(f fmt.State, name string, v any) {
	switch {
	case f.Flag('#'):
		io.WriteString(f, strings.Replace(fmt.Sprintf("%#v", v), "config.plain", "config."+name, 1))
	case f.Flag('+'):
		fmt.Fprintf(f, "%+v", v)
	default:
		fmt.Fprintf(f, "%v", v)
	}
}

// CheckSecretFiles reports every token_file and private_key_file that is
// missing, a directory or unreadable, each with its field path. Load does
// not check them (a file may appear later, and it is re-read at request
// time); check-config does, so a typo is caught before the first sync.
func (c *Config) CheckSecretFiles() error {
	var e errs
	check := func(path, file string) {
		if file == "" {
			return
		}
		fi, err := os.Stat(file)
		switch {
		case err != nil:
			e.add(path, "%v", err)
		case fi.IsDir():
			e.add(path, "%s is a directory, not a file", file)
		default:
			f, err := os.Open(file)
			if err != nil {
				e.add(path, "%v", err)
				return
			}
			f.Close()
		}
	}
	for i, g := range c.Sources.GitHub {
		check(fmt.Sprintf("sources.github[%d].token_file", i), g.TokenFile)
		if g.App != nil {
			check(fmt.Sprintf("sources.github[%d].app.private_key_file", i), g.App.PrivateKeyFile)
		}
	}
	for i, j := range c.Sources.Jira {
		check(fmt.Sprintf("sources.jira[%d].token_file", i), j.TokenFile)
	}
	return errors.Join(e...)
}
