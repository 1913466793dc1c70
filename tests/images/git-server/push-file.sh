#!/bin/sh
# git-push-file PATH [MESSAGE]: commit standard input as PATH on the served repository's branch and
# push it through the running daemon (git://127.0.0.1), as a client would. Prints the new commit.
# Uses GIT_SERVER_REPO, GIT_SERVER_BRANCH and GIT_SERVER_PORT like the server.
set -eu

path="${1:?usage: git-push-file PATH [MESSAGE] < content}"
message="${2:-Add $path}"
repo="${GIT_SERVER_REPO:-dags}"
branch="${GIT_SERVER_BRANCH:-main}"
url="git://127.0.0.1:${GIT_SERVER_PORT:-9418}/$repo.git"
export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-git-push-file}" GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-git-push-file@localhost}"
export GIT_COMMITTER_NAME="${GIT_COMMITTER_NAME:-$GIT_AUTHOR_NAME}" GIT_COMMITTER_EMAIL="${GIT_COMMITTER_EMAIL:-$GIT_AUTHOR_EMAIL}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone --quiet --branch "$branch" "$url" "$work/repo"
mkdir -p "$(dirname "$work/repo/$path")"
cat >"$work/repo/$path"
git -C "$work/repo" add -- "$path"
git -C "$work/repo" commit --quiet -m "$message"
git -C "$work/repo" push --quiet origin "HEAD:refs/heads/$branch"
git -C "$work/repo" rev-parse HEAD
