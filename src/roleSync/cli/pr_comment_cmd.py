"""`rolesync pr-comment FILE`: put a Markdown file (a `rolesync diff --format markdown`)
into the pull request's review comment: created on the first run, updated after.

Where: GITHUB_API_URL, GITHUB_REPOSITORY and the pull request of GITHUB_EVENT_PATH (or
--repo / --pr). The token: ROLESYNC_GITHUB_TOKEN or GITHUB_TOKEN, from the environment
only. The comment is found again by a hidden marker naming the profile.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from roleSync.cli.common import CommandUsageError, Subparsers, add_profile_option, out
from roleSync.errors import ExitCode


def _pr_number(text: str) -> int:
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise argparse.ArgumentTypeError(f"not a pull request number: {text!r}")


def register(sub: Subparsers) -> None:
    parser = sub.add_parser(
        "pr-comment",
        help="post a Markdown file as the pull request's review comment, or update it",
        description="Post FILE as the pull request's review comment, or update the one an "
        "earlier run posted (one per profile). The token is read from ROLESYNC_GITHUB_TOKEN "
        "or GITHUB_TOKEN, never from an argument.",
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="the Markdown to post")
    add_profile_option(parser, required=False)
    parser.add_argument(
        "--name",
        metavar="NAME",
        help="the name the comment is kept under (default: the profile's name; one of "
        "-c and --name is needed)",
    )
    parser.add_argument(
        "--pr", type=_pr_number, metavar="N", help="the pull request (default: the event's)"
    )
    parser.add_argument(
        "--repo", metavar="OWNER/NAME", help="the repository (default: GITHUB_REPOSITORY)"
    )
    parser.set_defaults(handler=run_pr_comment)


def run_pr_comment(args: argparse.Namespace) -> ExitCode:
    from roleSync.github.api import GitHubClient
    from roleSync.github.comment_body import valid_profile_name
    from roleSync.github.context import GitHubSetupError, target
    from roleSync.github.upsert import upsert_comment

    name = _comment_name(args)
    if not valid_profile_name(name):
        raise GitHubSetupError(f"--name: letters, digits and ._/- only: {name!r}")
    try:
        markdown = args.file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise GitHubSetupError(f"{args.file}: not UTF-8 text") from None
    where = target(os.environ, repo=args.repo, pr=args.pr)
    posted = upsert_comment(GitHubClient(where), markdown, name)
    link = f": {posted.url}" if posted.url else f" (id {posted.comment_id})"
    pull = f"{where.repository}#{where.pull_request}"
    out(f"rolesync: review comment {posted.outcome} on {pull}{link}")
    return ExitCode.OK


def _comment_name(args: argparse.Namespace) -> str:
    if (args.connector is None) == (args.name is None):
        raise CommandUsageError("pr-comment: give one of -c PROFILE and --name NAME")
    if args.name is not None:
        return str(args.name)
    from roleSync.profile.model import load_profile

    return str(load_profile(args.connector).name)
