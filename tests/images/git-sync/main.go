// git-sync (airflow-k8s compatible build): keeps a directory in step with a Git repository, with the
// command line, environment and on-disk layout of the subset of git-sync v4 that the airflow_core role
// uses. Written here because the upstream module cannot be fetched on the machines this project is
// built on (see tests/images/README.md); it is not upstream git-sync.
//
// Each pass (every --period, or once with --one-time):
//
//	git init <root>                           (idempotent)
//	git fetch --depth=<depth> <repo> <ref>    -> FETCH_HEAD, resolved to a commit hash
//	git worktree add <root>/.worktrees/<hash> (only when the hash changed)
//	<root>/<link> -> .worktrees/<hash>        (a relative symlink, swapped atomically with rename(2))
//	the previous worktree is removed
//
// Readers follow <root>/<link> and never see a half-written tree. Flags take their defaults from
// GITSYNC_<FLAG> (or the older GIT_SYNC_<FLAG>) environment variables; unknown flags are refused.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

type config struct {
	repo, ref, root, link, httpBind, gitCmd string
	depth, maxFailures, verbosity           int
	period, syncTimeout                     time.Duration
	oneTime, showVersion                    bool
}

// env returns GITSYNC_<NAME>, else GIT_SYNC_<NAME>, else def.
func env(name, def string) string {
	key := strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	for _, k := range []string{"GITSYNC_" + key, "GIT_SYNC_" + key} {
		if v, ok := os.LookupEnv(k); ok {
			return v
		}
	}
	return def
}

func envInt(name string, def int) int {
	v := env(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		log.Fatalf("invalid value %q for environment variable of --%s: %v", v, name, err)
	}
	return n
}

func envBool(name string, def bool) bool {
	v := env(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		log.Fatalf("invalid value %q for environment variable of --%s: %v", v, name, err)
	}
	return b
}

func envDuration(name string, def time.Duration) time.Duration {
	v := env(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		log.Fatalf("invalid value %q for environment variable of --%s: %v", v, name, err)
	}
	return d
}

func parseFlags(args []string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("git-sync", flag.ContinueOnError)
	fs.StringVar(&c.repo, "repo", env("repo", ""), "the Git repository to sync (required)")
	fs.StringVar(&c.ref, "ref", env("ref", "HEAD"), "the branch, tag or commit to sync")
	fs.StringVar(&c.root, "root", env("root", ""), "the directory holding the repository, its worktrees and the link (required)")
	fs.StringVar(&c.link, "link", env("link", ""), "the name of the symlink under --root that points at the synced tree (default: the repository's last path element)")
	fs.IntVar(&c.depth, "depth", envInt("depth", 1), "fetch depth; 0 fetches the whole history")
	fs.DurationVar(&c.period, "period", envDuration("period", 10*time.Second), "how long to wait between syncs")
	fs.DurationVar(&c.syncTimeout, "sync-timeout", envDuration("sync-timeout", 120*time.Second), "the longest one sync may take")
	fs.IntVar(&c.maxFailures, "max-failures", envInt("max-failures", 0), "consecutive failed syncs tolerated before exiting; negative: never exit")
	fs.BoolVar(&c.oneTime, "one-time", envBool("one-time", false), "sync once and exit (0 on success)")
	fs.StringVar(&c.httpBind, "http-bind", env("http-bind", ""), "address of the HTTP endpoint (GET / answers 200 once a sync has succeeded)")
	fs.StringVar(&c.gitCmd, "git", env("git", "git"), "the git command")
	fs.IntVar(&c.verbosity, "v", envInt("verbose", 0), "log verbosity (0: one line per change)")
	fs.BoolVar(&c.showVersion, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if c.showVersion {
		return c, nil
	}
	// Settings the upstream tool has and this build does not: refuse them rather than ignore them.
	for _, name := range []string{"username", "password", "password-file", "ssh-key-file", "submodules",
		"sparse-checkout-file", "exechook-command", "webhook-url", "credential"} {
		if env(name, "") != "" {
			return nil, fmt.Errorf("GITSYNC_%s is set, but this git-sync build does not support it",
				strings.ToUpper(strings.ReplaceAll(name, "-", "_")))
		}
	}
	if c.repo == "" {
		return nil, errors.New("--repo (GITSYNC_REPO) is required")
	}
	if c.root == "" {
		return nil, errors.New("--root (GITSYNC_ROOT) is required")
	}
	if c.link == "" {
		c.link = strings.TrimSuffix(filepath.Base(strings.TrimRight(c.repo, "/")), ".git")
	}
	if strings.Contains(c.link, "/") || c.link == "." || c.link == ".." || strings.HasPrefix(c.link, ".") {
		return nil, fmt.Errorf("--link %q must be a plain name that does not start with a dot", c.link)
	}
	if c.depth < 0 {
		return nil, fmt.Errorf("--depth must be 0 or more, got %d", c.depth)
	}
	if c.period < 10*time.Millisecond {
		return nil, fmt.Errorf("--period must be at least 10ms, got %s", c.period)
	}
	return c, nil
}

type syncer struct {
	cfg    *config
	synced atomic.Bool
	hash   atomic.Value // string: the commit currently linked
}

// git runs one git command in the root, safe.directory relaxed (the root is a volume owned by someone else).
func (s *syncer) git(ctx context.Context, args ...string) (string, error) {
	full := append([]string{"-c", "safe.directory=*", "-C", s.cfg.root}, args...)
	cmd := exec.CommandContext(ctx, s.cfg.gitCmd, full...)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	shown := strings.ReplaceAll(strings.Join(args, " "), s.cfg.repo, redact(s.cfg.repo))
	if s.cfg.verbosity >= 2 {
		log.Printf("git %s: %s", shown, strings.TrimSpace(string(out)))
	}
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", shown, err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// once performs one sync pass; it reports whether the link moved.
func (s *syncer) once(parent context.Context) (bool, error) {
	ctx, cancel := context.WithTimeout(parent, s.cfg.syncTimeout)
	defer cancel()
	root := s.cfg.root
	if err := os.MkdirAll(root, 0o755); err != nil {
		return false, err
	}
	if _, err := s.git(ctx, "init", "-q"); err != nil {
		return false, err
	}
	fetch := []string{"fetch", "--quiet", "--no-tags"}
	if s.cfg.depth > 0 {
		fetch = append(fetch, "--depth="+strconv.Itoa(s.cfg.depth))
	}
	fetch = append(fetch, s.cfg.repo, s.cfg.ref)
	if _, err := s.git(ctx, fetch...); err != nil {
		return false, err
	}
	hash, err := s.git(ctx, "rev-parse", "--verify", "FETCH_HEAD^{commit}")
	if err != nil {
		return false, err
	}
	linkPath := filepath.Join(root, s.cfg.link)
	target := filepath.Join(".worktrees", hash)
	wt := filepath.Join(root, target)
	previous, _ := os.Readlink(linkPath)
	if previous == target {
		if _, err := os.Stat(filepath.Join(wt, ".git")); err == nil {
			s.hash.Store(hash)
			return false, nil
		}
	}
	// A leftover of an interrupted pass at the same path is removed first.
	if _, err := os.Stat(wt); err == nil {
		if err := os.RemoveAll(wt); err != nil {
			return false, err
		}
	}
	if _, err := s.git(ctx, "worktree", "prune"); err != nil {
		return false, err
	}
	if _, err := s.git(ctx, "worktree", "add", "--force", "--detach", wt, hash); err != nil {
		return false, err
	}
	tmp := filepath.Join(root, "."+s.cfg.link+".tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return false, err
	}
	if err := os.Rename(tmp, linkPath); err != nil {
		return false, err
	}
	s.hash.Store(hash)
	log.Printf("synced %s %s: %s -> %s", redact(s.cfg.repo), s.cfg.ref, s.cfg.link, target)
	// Drop every other worktree (the previous one included) now that nobody is sent there.
	entries, _ := os.ReadDir(filepath.Join(root, ".worktrees"))
	for _, e := range entries {
		if e.Name() == hash {
			continue
		}
		if err := os.RemoveAll(filepath.Join(root, ".worktrees", e.Name())); err != nil {
			log.Printf("could not remove old worktree %s: %v", e.Name(), err)
		}
	}
	if _, err := s.git(ctx, "worktree", "prune"); err != nil {
		return true, err
	}
	return true, nil
}

// redact hides a password in a repository URL before it is logged.
func redact(repo string) string {
	u, err := url.Parse(repo)
	if err != nil || u.User == nil {
		return repo
	}
	u.User = url.User("redacted")
	return u.String()
}

func (s *syncer) serveHTTP(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		if !s.synced.Load() {
			http.Error(w, "not synced yet", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "ok %v\n", s.hash.Load())
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { log.Printf("http endpoint stopped: %v", srv.Serve(ln)) }()
	return nil
}

func run(ctx context.Context, cfg *config) int {
	s := &syncer{cfg: cfg}
	if cfg.httpBind != "" {
		if err := s.serveHTTP(cfg.httpBind); err != nil {
			log.Printf("cannot listen on %s: %v", cfg.httpBind, err)
			return 1
		}
	}
	failures := 0
	for {
		_, err := s.once(ctx)
		switch {
		case err == nil:
			failures = 0
			s.synced.Store(true)
			if cfg.oneTime {
				return 0
			}
		case ctx.Err() != nil:
			return 0
		default:
			failures++
			log.Printf("sync failed (%d in a row): %v", failures, err)
			if cfg.oneTime || (cfg.maxFailures >= 0 && failures > cfg.maxFailures) {
				return 1
			}
		}
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(cfg.period):
		}
	}
}

func main() {
	log.SetFlags(log.LstdFlags | log.LUTC)
	log.SetPrefix("git-sync: ")
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		log.Printf("%v", err)
		os.Exit(2)
	}
	if cfg.showVersion {
		fmt.Println(version)
		return
	}
	log.Printf("version %s: repo %s ref %s root %s link %s depth %d period %s one-time %t",
		version, redact(cfg.repo), cfg.ref, cfg.root, cfg.link, cfg.depth, cfg.period, cfg.oneTime)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	os.Exit(run(ctx, cfg))
}
