#!/bin/sh
# A small Git server for tests: bare repositories under GIT_SERVER_ROOT served by `git daemon` on
# port 9418 (git://), pushes allowed (receive-pack), no authentication. Meant for a test namespace only.
#
#   GIT_SERVER_ROOT       where the bare repositories live (default /srv/git; mount a volume there)
#   GIT_SERVER_REPO       the repository created at start when missing (default dags -> <root>/dags.git)
#   GIT_SERVER_BRANCH     its branch (default main)
#   GIT_SERVER_SEED_DIR   files (not dot-files) committed as the first commit of a new repository
#                         (default /seed; a ConfigMap volume works: its symlinks are followed)
#   GIT_SERVER_SEED_PATH  folder inside the repository for the seed files (default: the top)
#   GIT_SERVER_PORT       listening port (default 9418)
# Any arguments are passed to `git daemon`.
set -eu

root="${GIT_SERVER_ROOT:-/srv/git}"
repo="${GIT_SERVER_REPO:-dags}"
branch="${GIT_SERVER_BRANCH:-main}"
seed="${GIT_SERVER_SEED_DIR:-/seed}"
seed_path="${GIT_SERVER_SEED_PATH:-}"
port="${GIT_SERVER_PORT:-9418}"
export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-git-server}" GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-git-server@localhost}"
export GIT_COMMITTER_NAME="${GIT_COMMITTER_NAME:-$GIT_AUTHOR_NAME}" GIT_COMMITTER_EMAIL="${GIT_COMMITTER_EMAIL:-$GIT_AUTHOR_EMAIL}"

log() { echo "git-server: $*" >&2; }

bare="$root/$repo.git"
if [ ! -f "$bare/HEAD" ]; then
  log "creating $bare (branch $branch)"
  git init --quiet --bare --initial-branch="$branch" "$bare"
  files=""
  if [ -d "$seed" ]; then
    files="$(find -L "$seed" -maxdepth 1 -type f ! -name '.*' | sort)"
  fi
  if [ -n "$files" ]; then
    work="$(mktemp -d)"
    git init --quiet --initial-branch="$branch" "$work"
    mkdir -p "$work/$seed_path"
    echo "$files" | while IFS= read -r f; do cp -L "$f" "$work/$seed_path/"; done
    git -C "$work" add --all
    git -C "$work" commit --quiet -m "Seed $repo from $seed"
    git -C "$work" push --quiet "$bare" "HEAD:refs/heads/$branch"
    log "seeded $repo: $(git -C "$bare" rev-parse "refs/heads/$branch") ($(echo "$files" | wc -l) files)"
    rm -rf "$work"
  fi
fi

log "serving $root on port $port (git://<host>:$port/$repo.git)"
exec git daemon --reuseaddr --export-all --enable=receive-pack --informative-errors \
  --base-path="$root" --listen=0.0.0.0 --port="$port" --log-destination=stderr "$@" "$root"
