"""`rolesync audit ACCOUNT|OWNER|RUN`: browse the audit log (text or JSON)."""

from __future__ import annotations

import argparse
import json

from roleSync.cli.common import Subparsers, add_profile_option, out, out_document
from roleSync.errors import ExitCode


def _positive(text: str) -> int:
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise argparse.ArgumentTypeError(f"not a positive number: {text!r}")


def register(sub: Subparsers) -> None:
    audit = sub.add_parser(
        "audit",
        help="the audit log of an account, an owner or a run: every ownership write, "
        "with the records carried and tasks made",
    )
    audit.add_argument(
        "subject",
        metavar="ACCOUNT|OWNER|RUN",
        help="a run id or 'latest'; an account id; an owner id, email or name "
        "(case-insensitive); tried in that order",
    )
    add_profile_option(audit)
    audit.add_argument(
        "--kind", choices=("run", "account", "owner"), help="only this kind of subject"
    )
    audit.add_argument(
        "--format", choices=("text", "json"), default="text", help="default: %(default)s"
    )
    audit.add_argument(
        "--limit",
        type=_positive,
        default=50,
        metavar="N",
        help="the newest N rows (default: %(default)s)",
    )
    audit.set_defaults(handler=run_audit)


def run_audit(args: argparse.Namespace) -> ExitCode:
    from roleSync.profile import load_profile
    from roleSync.report.audit_log import AuditLog, SubjectError, as_json, as_text, resolve
    from roleSync.report.audit_log import select as select_rows
    from roleSync.sync.recorder import stored_owners
    from roleSync.sync.state_open import state_label, stored_state

    profile = load_profile(args.connector)
    opened = stored_state(profile)  # never creates an empty store
    if opened is None:
        where = state_label(profile)
        raise SubjectError(
            f"no audit log yet for profile {profile.name}: no state store at {where}"
        )
    with opened as store:
        runs = store.runs(profile.name)
        log = AuditLog(
            profile.name,
            runs,
            store.audit_of_profile(profile.name),
            store.related_of([r.id for r in runs]),
            {o.owner_id: o for o in stored_owners(store, profile)},
        )
    subject = resolve(log, args.subject, args.kind)
    rows = select_rows(log, subject)
    shown = rows[: args.limit]
    if args.format == "json":
        out_document(json.dumps(as_json(log, subject, shown, len(rows)), indent=2))
    else:
        out(as_text(log, subject, shown, len(rows)))
    return ExitCode.OK
