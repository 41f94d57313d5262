"""`send` and `resolve`: the paced, recorded send, and settling a message cut off mid-send.

``show_plan`` and ``send_and_report`` are shared with `followup --send`."""

from __future__ import annotations

import contextlib
import functools
import math
import sys
from pathlib import Path

import click

from outreach.cli import common
from outreach.cli.common import (
    check_dns_opt,
    contacts_arg,
    json_opt,
    packed,
    print_json,
    send_consent_opts,
    sheet_campaign_opt,
    tally_json,
    template_arg,
    terminal,
    warnings_opts,
)
from outreach.cli.compose import show_preview
from outreach.options import Consent, Pace, SendOptions, Sheet, Timing
from outreach.output import plural, say, shown, style


@click.command()
@template_arg
@contacts_arg
@sheet_campaign_opt
@click.option("--yes", "-y", is_flag=True, help="Send without asking; needed when not run from a terminal.")
@click.option("--dry-run", is_flag=True, help="Show the plan and the first message; send and record nothing.")
@packed("pace", Pace, click.option(
    "--limit", type=click.IntRange(min=1), metavar="N",
    help="Send at most N messages now; the rest on a later run."), click.option(
    "--rate", metavar="N/min",
    help="Pace: 20/min, 1/s, 300/h or 'unlimited' (default: OUTREACH_RATE, the provider preset, or 20/min)."),
    click.option("--jitter", type=click.FloatRange(min=0), metavar="SECONDS",
                 help="Delay each message by a random 0..SECONDS inside its slot (the average rate is kept)."),
    click.option("--daily-cap", type=click.IntRange(min=0), metavar="N",
                 help="At most N messages from this account per rolling 24 hours, all campaigns together "
                      "(0: no cap)."))
@send_consent_opts
@click.option("--variant", "variants", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Another template to A/B test against TEMPLATE (repeat for more): contacts are split between "
                   "them, balanced and reproducibly, as for `draft --variant`; each message records its variant.")
@packed("timing", Timing, click.option(
    "--window", metavar="HH:MM-HH:MM",
    help="Send only while it is within these hours on each contact's clock (their time_zone column; "
         "default: OUTREACH_SEND_WINDOW). The others wait for a later run, or for --wait."), click.option(
    "--weekdays/--any-day", default=None,
    help="Also skip Saturday and Sunday on each contact's clock (default: OUTREACH_SEND_WEEKDAYS)."), click.option(
    "--wait", is_flag=True, help="Stay running until every contact's window has opened and each one is sent, "
                                 "showing who is next and when. Ctrl-C stops; the same command resumes."))
@click.option("--no-sync", is_flag=True,
              help="Do not read the mailbox first (it is read over IMAP when contacts of this sheet were written "
                   "to before, so that a reply that just arrived holds them).")
@warnings_opts
@check_dns_opt
@json_opt
@click.pass_context
def send(ctx, template: Path, contacts: Path, campaign: str | None, yes: bool, dry_run: bool, pace: Pace,
         consent: Consent, variants: tuple[Path, ...], timing: Timing, no_sync: bool, warnings: str, check_dns: bool,
         as_json: bool):
    """Send one message per contact through your SMTP account, paced, and record each one.

    Every row is rendered and checked first: any error and nothing is sent. Then you see the
    plan (account, how many now, what is skipped and why, pacing, duration) and the first
    message, and confirm. Re-running the same command sends only what was never sent, so it
    is the way to resume after a crash, Ctrl-C, a daily cap or a server failure; new CSV rows
    are picked up. A message cut off during DATA is "uncertain" and never re-sent on its own.

    The workspace (its .env and outreach.db) is the nearest folder holding either, from the
    current folder upward, else from the template's. Where it has no tracking store yet, a
    new one is started only with your word (--yes, OUTREACH_DB, or the answer to a question).

    Without --campaign, the campaign this template and contact list were drafted under is used.
    Contacts known from other campaigns are shown with their history: bounced or opted-out
    ones are never written to; for cold outreach, those who replied or declined are skipped
    (--include-answered) and those written to in the last 30 days are held (--include-recent).

    \b
    Examples:
      outreach send templates/mentor_outreach.txt mentors.csv --dry-run
      outreach send templates/mentor_outreach.txt mentors.csv \\
          --campaign fall-mentors
      outreach send templates/thank_you.txt interviews.csv --rate 10/min \\
          --jitter 5 --limit 20
      outreach send templates/mentor_outreach.txt mentors.csv --yes  # cron
      outreach send templates/short.txt mentors.csv \\
          --variant templates/long.txt --campaign ab-test
      outreach send templates/mentor_outreach.txt mentors.csv --campaign spring \\
          --include-recent
      outreach send templates/thank_you.txt interviews.csv --window 08:00-18:00 \\
          --weekdays --wait
      # what would go out tomorrow at 9, New York time?
      OUTREACH_NOW=2026-12-02T09:00-05:00 outreach send templates/thank_you.txt \\
          interviews.csv --window 08:00-18:00 --dry-run
      outreach send templates/mentor_outreach.txt mentors.csv --yes --json \\
          | jq '.result.sent[].address'
    """
    from outreach.cli.common import load_settings, new_store_confirmed, note
    from outreach.deliver.session import open_campaign
    from outreach.errors import UserError

    if timing.wait and pace.limit is not None:
        raise UserError("--wait sends every contact and --limit only some: use one or the other")
    wait = timing.wait
    feedback = terminal(as_json)
    options = SendOptions(Sheet(template, contacts, variants, campaign, check_dns, warnings), consent, pace, timing,
                          dry_run=dry_run, no_sync=no_sync)
    settings = load_settings(template, contacts)
    if dry_run and not settings.db.exists():
        note(f"there is no tracking store at {settings.db}: this plan knows nobody you wrote to before, and a real "
             "send would start a new store there")
    guard = contextlib.nullcontext() if dry_run else new_store_confirmed(settings, yes=yes)
    with guard, open_campaign(settings, options, feedback) as session:
        plan = session.plan
        if not as_json:
            show_plan(plan, str(contacts), every_group=dry_run)
        left = 1 if plan.uncertain or plan.later_reason == "daily cap" or plan.waiting or plan.tally.with_warnings \
            else 0
        if dry_run or (not plan.items and not (wait and session.next_moment())):
            if as_json:
                print_json(send_json(session, None, feedback.rows, dry_run=dry_run))
            else:
                say(style("dry run: nothing was sent or recorded", "note") if dry_run else "nothing to send now")
            ctx.exit(left)
        count = len(plan.items)
        question = f"Send {plural(count, 'message')} now" + (f" and {len(plan.waiting)} as their windows open?"
                                                              if wait and plan.waiting else "?")
        if not confirm(session, yes, question, "--dry-run to see the plan first", err=as_json):
            say("nothing sent", err=as_json)
            if as_json:
                print_json(send_json(session, None, feedback.rows))
            return
        code, result = send_and_report(session, wait=wait, quiet=as_json)
        if as_json:
            print_json(send_json(session, result, feedback.rows))
        ctx.exit(code)


def confirm(session, yes: bool, question: str, hint: str, *, err: bool = False) -> bool:
    """Ask before sending (after the secret is known to be there); refuse when no one can answer.
    ``err``: ask on stderr (stdout is for --json)."""
    from outreach.errors import UserError

    if not yes and not common.interactive():
        raise UserError("standard input is not a terminal, so there is no one to confirm: add --yes to send "
                        f"(and {hint})")
    session.prepare_secret(common.warn)
    return yes or click.confirm(shown(question), default=False, err=err)


def show_plan(plan, source: str, *, every_group: bool = False) -> None:
    """The plan before the question: account, history from other campaigns, how many now and
    later, what is skipped and why (``every_group``: each address too), the A/B split, warnings,
    pacing and duration, and the first message in full."""
    from outreach.compose.batch import Rendered
    from outreach.deliver.pacing import UNLIMITED, describe_duration, describe_rate
    from outreach.deliver.sending import local_time
    from outreach.track.gate import REASONS

    server = plan.server
    label = lambda text: style(f"{text + ':':<11}", "note")  # noqa: E731
    say(f"{label('Account')}{plan.account.sender} via {server.host}:{server.port} ({server.security}), "
        f"login {server.user}")
    say(f"{label('Campaign')}{plan.campaign} ({source}, {plural(plan.tally.rows, 'row')})")
    common.print_history(plan.known, source)
    earlier = [f"{n} {what}" for n, what in ((plan.drafted, "drafted before"),
                                            (plan.left_over, "left from an earlier run"))
               if n]
    drafted = f" ({', '.join(earlier)}; same Message-ID)" if earlier else ""
    say(f"{label('Send now')}{plural(len(plan.items), 'message')}{drafted}")
    for item in plan.items if every_group else ():
        say(f"{' ' * 13}{item.address} (line {item.line})")
    if plan.later:
        say(f"{label('Later')}{len(plan.later)} over the {plan.later_reason}; run the same command again")
        for item in plan.later if every_group else ():
            say(f"{' ' * 13}{item.address} (line {item.line})")
    if plan.window is not None:
        show_waiting(plan, label)
    skipped = [(reason, addresses) for reason, addresses in plan.skipped.items() if addresses]
    # rows the interview log holds back are listed once, under their reason, with why
    held = {row.contact.email or row.contact.fields.get("interviewer", ""): row for row in plan.held}
    for number, (reason, addresses) in enumerate(skipped):
        say(f"{label('Skipped') if number == 0 else ' ' * 11}{len(addresses)} {REASONS[reason]}")
        for address in addresses:
            row = held.get(address)
            if row is not None:
                say(f"{' ' * 13}{common.row_label(row)} (line {row.contact.line}): {row.skip}")
            elif every_group:
                say(f"{' ' * 13}{address}")
    for note in plan.notes:
        say(style(f"{label('Note')}{note}", "warning"))
    if plan.mailbox:
        say(f"{label('Mailbox')}{plan.mailbox}")
    if plan.split:
        say(f"{label('Variants')}" + ", ".join(f"{name} {count}" for name, count in plan.split.items()))
    if plan.uncertain:
        say(f"{label('Uncertain')}{len(plan.uncertain)} cut off while being sent by an earlier run: they may or may "
            "not have arrived;")
        say(f"{' ' * 11}check your Sent folder, then "
            f"`outreach resolve ADDRESS sent|unsent --campaign {plan.campaign}`,")
        say(f"{' ' * 11}or send them again with --resend-uncertain")
        for row in plan.uncertain:
            say(f"{' ' * 13}{row.address} (line {row.contact_line})")
    pacing = plan.pacing
    rate = describe_rate(pacing.rate) + (f" ({pacing.rate_source})" if pacing.rate != UNLIMITED else "")
    jitter = f", jitter up to {pacing.jitter:g} s" if pacing.jitter else ""
    if pacing.cap is None:
        cap = "no daily cap"
    else:
        cap = f"daily cap {pacing.cap} ({pacing.cap_source}), {plan.window_used} used in the last 24 h"
    say(f"{label('Pacing')}{rate}{jitter}; {cap}")
    if plan.account.save_sent:
        say(f"{label('Sent copy')}each message filed in the Sent folder on {plan.account.imap.host} "
            "(OUTREACH_SAVE_SENT=no to stop)")
    if plan.cap_resume is not None:
        say(style(f"{'':11}the daily cap is reached: sending can resume after {local_time(plan.cap_resume)}",
                  "warning"))
    if plan.items:
        wait = plan.estimate_seconds()
        duration = f"about {describe_duration(wait)} of pacing, plus the server's time" if wait >= 1 else \
            "as fast as the server accepts"
        say(f"{label('Duration')}{duration}")
        first = plan.items[0]
        say(style(f"\nFirst message ({source}, line {first.line}):", "note"))
        # its problems, if any, were listed with the others above
        show_preview(Rendered(first.rendered.contact, first.rendered.draft), plan.account.sender, False, source,
                     configured=True)
        say()
    show_warnings(plan, label)


WARNINGS_SHOWN = 10   # rows listed above the question; `check` lists them all


def show_warnings(plan, label) -> None:
    """Last, right above the question: the rows that would go out with warnings, each with its
    line and first warning, so the choice is made where it is asked (--skip-warnings, --strict)."""
    going = [item.rendered for item in (*plan.items, *plan.later, *(w.item for w in plan.waiting))
             if item.rendered.warnings]
    if not going:
        return
    say(style(f"{label('Warnings')}{plural(len(going), 'message')} would go out with warnings "
              "(--skip-warnings leaves them out, --strict stops):", "warning"))
    for rendered in going[:WARNINGS_SHOWN]:
        first = rendered.warnings[0]
        column = f'column "{first.field}": ' if first.field else ""
        say(f"{' ' * 13}line {rendered.contact.line} {rendered.contact.email}: {column}{first.text}")
    if len(going) > WARNINGS_SHOWN:
        say(f"{' ' * 13}... and {len(going) - WARNINGS_SHOWN} more (outreach check lists them all)")


def show_waiting(plan, label) -> None:
    """The window, and who waits for it: each contact's opening on their clock and on the user's."""
    say(f"{label('Window')}{plan.window.describe()}")
    if plan.home_zone_lines:
        lines = ", ".join(str(n) for n in plan.home_zone_lines[:8]) + (", ..." if len(plan.home_zone_lines) > 8 else "")
        say(style(f"{'':11}no time_zone on {'line' if len(plan.home_zone_lines) == 1 else 'lines'} {lines}: "
                  "their window is counted on your clock", "warning"))
    if not plan.waiting:
        return
    say(f"{label('Waiting')}{len(plan.waiting)} outside their window; they go out on a later run (or --wait):")
    for waiting in plan.waiting[:20]:
        say(f"{' ' * 13}{waiting.item.address} (line {waiting.item.line}): opens {opening(waiting, plan.home_zone)}")
    if len(plan.waiting) > 20:
        say(f"{' ' * 13}... and {len(plan.waiting) - 20} more")


def opening(waiting, home) -> str:
    """``Mon 2026-11-30 08:00 EST (18:30 your time)``: the zone named one way, whatever the sheet
    wrote (:func:`outreach.zones.zone_of`)."""
    from outreach.zones import zone_of

    theirs = waiting.opens.astimezone(waiting.zone)
    mine = waiting.opens.astimezone(home)
    if not waiting.zone_name:
        return f"{mine:%a %Y-%m-%d %H:%M} your time (no time_zone)"
    same_day = mine.date() == theirs.date()
    return (f"{theirs:%a %Y-%m-%d %H:%M} {zone_of(theirs)} "
            f"({mine:%H:%M}" + ("" if same_day else f" on {mine:%a %Y-%m-%d}") + " your time)")


class WaitLine:
    """The live line of `send --wait` on stderr: rewritten in place on a terminal, otherwise a
    plain line each time the next contact or its time changes."""

    def __init__(self, home):
        self.home, self.live, self.last = home, sys.stderr.isatty(), None

    def __call__(self, nxt, at, now) -> None:
        from outreach.deliver.pacing import describe_duration

        what = (f"next {nxt.item.address} (line {nxt.item.line}) at {opening(nxt, self.home)}" if nxt is not None
                else f"the daily cap has room at {at.astimezone(self.home):%a %Y-%m-%d %H:%M} your time")
        if self.live:
            text = f"waiting: {what}, in {describe_duration((at - now).total_seconds())}"
            click.echo("\r\x1b[K" + shown(text), file=sys.stderr, nl=False)  # our codes, then the text escaped
        elif (what, at) != self.last:
            say(f"waiting: {what}", err=True)
        self.last = (what, at)

    def clear(self) -> None:
        if self.live and self.last is not None:
            click.echo("\r\x1b[K", file=sys.stderr, nl=False)
            self.last = None


def send_and_report(session, wait: bool = False, *, quiet: bool = False):
    """Send the confirmed plan with a progress bar (or a line per message off a terminal), then
    say what happened; returns the exit code and the result. With ``wait``, a live line while
    waiting for windows. ``quiet`` (for --json): no line per message, the closing text on stderr."""
    from outreach.deliver.pacing import Pacer, TimeLeft, describe_duration

    plan = session.plan
    bar_shown = sys.stderr.isatty() and not wait
    wait_line = WaitLine(plan.home_zone)
    left = TimeLeft(len(plan.items), Pacer(plan.pacing.rate, plan.pacing.jitter).interval)

    def time_left(_item) -> str | None:
        return f"about {describe_duration(math.ceil(left.seconds()))} left" if left.done < left.total else None

    with click.progressbar(length=len(plan.items), label="sending", file=sys.stderr, show_eta=False, show_pos=True,
                           item_show_func=time_left, hidden=not bar_shown) as bar:
        def on_message(item, status, detail):
            left.sent()
            bar.update(1)
            wait_line.clear()
            if not bar_shown and not quiet:
                line = f"{status:<10}{item.address} (line {item.line})"
                say(line + (f": {detail}" if detail and status != "sent" else ""))

        result = session.send(on_message=on_message, wait=wait, on_wait=wait_line, on_first_interrupt=lambda: say(
            "\nstopping after the current message (Ctrl-C again to abandon it)", err=True))
        wait_line.clear()
    return report_result(session, result, err=quiet), result


def report_result(session, result, *, err: bool = False) -> int:
    from outreach.deliver.pacing import describe_duration
    from outreach.deliver.sending import local_time
    from outreach.track.gate import REASONS

    plan = session.plan
    tell = functools.partial(say, err=err)  # the closing text: on stderr for --json

    def listing(kind: str, rows, intro: str) -> None:
        if not rows:
            return
        tell(style(f"{kind} {len(rows)}", "warning" if kind != "Failed" else "error") + f" ({intro}):")
        for item, detail in rows:
            tell(f"  {item.address} (line {item.line}): {detail}")

    partial = [(item, detail) for item, detail in result.sent if detail]
    planned = result.planned or len(plan.items)
    tell(style(f"Sent {len(result.sent)} of {planned} in {describe_duration(result.seconds)} "
              f"(campaign {plan.campaign!r})", "ok" if len(result.sent) == planned else "warning"))
    listing("Refused recipients on", partial, "the message went to the others")
    listing("Failed", result.failed, "the server refused them; fix the address or use --retry-failed later")
    listing("Deferred", result.deferred, "the server said try later; run the same command again later")
    listing("Uncertain", result.uncertain,
            "the connection was lost during DATA: check your Sent folder, then `outreach resolve`")
    listing("Held", [(item, REASONS[reason]) for item, reason in result.held],
            "not sent: what the store learnt since the plan was made holds them")
    if result.drafts_removed:
        tell(f"Removed {plural(result.drafts_removed, 'draft')} of the messages just sent, so they cannot go twice")
    for where in result.drafts_left:
        tell(style(f"Could not remove the draft {where}: delete it yourself, it was sent", "warning"))
    if plan.uncertain:
        tell(style(f"Still uncertain from an earlier run: {len(plan.uncertain)}", "warning")
            + " (listed above; check your Sent folder, then `outreach resolve`)")
    code = 1 if (partial or result.failed or result.deferred or result.uncertain or result.held or plan.uncertain
                 or plan.tally.with_warnings) else 0
    copies = result.sent_copies
    if copies is not None and copies.error is None:
        tell(f"Filed a copy of each in {copies.folder} on {plan.account.imap.host}")
    elif copies is not None:
        common.warn(f"{copies.saved} of {copies.wanted} sent messages were filed in your Sent folder: {copies.error}. "
                    "They were sent and are recorded as sent; nothing will be sent again")
        code = max(code, 1)
    remaining = result.not_reached + len(result.deferred) + len(plan.later) + len(plan.waiting)
    if result.fatal is not None:
        tell(style("error: ", "error", stream=sys.stderr) + str(result.fatal), err=True)
        code = 1 if result.sent else 2  # 2: stopped before anything left
    elif result.stopped:
        tell(style("stopped: ", "error", stream=sys.stderr) + result.stopped, err=True)
        code = 1
    if plan.later_reason == "daily cap" or (plan.pacing.cap and result.not_reached == 0 and plan.later):
        when = session.cap_resume()
        if when is not None:
            tell(style(f"The daily cap of {plan.pacing.cap} for {plan.account_key} is reached; sending can resume "
                      f"after {local_time(when)}.", "warning"))
            code = max(code, 1)
    if plan.waiting and not result.interrupted:
        tell(style(f"Waiting: {len(plan.waiting)} outside their window; the next opens "
                  f"{opening(plan.waiting[0], plan.home_zone)}.", "warning"))
        code = max(code, 1)
    if result.interrupted:
        tell(style(f"Interrupted: {plural(remaining, 'message')} not sent yet.", "warning"))
        code = 130
    if remaining:
        tell(f"To send the rest: {session.resume}")
    return code


@click.command()
@click.argument("address")
@click.argument("outcome", type=click.Choice(["sent", "unsent"]))
@click.option("--campaign", help="Which campaign, when the address is uncertain in more than one.")
def resolve(address: str, outcome: str, campaign: str | None):
    """Settle an uncertain message once you have checked your Sent folder.

    "sent": it went out (it is recorded as sent). "unsent": it did not (the next `send`
    sends it, with the same Message-ID).

    \b
    Examples:
      outreach resolve m.okafor@example.edu sent
      outreach resolve jchen@example.edu unsent --campaign fall-mentors
    """
    from outreach.cli.common import load_settings
    from outreach.deliver.resolve import resolve_uncertain

    settings = load_settings()
    done = resolve_uncertain(settings, address, campaign, delivered=outcome == "sent", warn=common.warn)
    say(style(f"{done.address} ({done.campaign}): recorded as "
              f"{'sent' if outcome == 'sent' else 'not sent; the next send sends it'}", "ok"))
    if done.drafts_removed:
        say("removed its draft, so it cannot go twice")
    for where in done.drafts_left:
        say(style(f"Could not remove the draft {where}: delete it yourself, it was sent", "warning"))


# -- --json ------------------------------------------------------------------------------------
def item_json(item) -> dict:
    return {"address": item.address, "line": item.line, "message_id": item.message_id,
            "variant": item.rendered.variant}


def plan_json(plan) -> dict:
    """The plan as `send --json` and `followup --send --json` print it (keys are a stable contract)."""
    from outreach.clock import iso
    from outreach.deliver.pacing import UNLIMITED

    pacing = plan.pacing
    return {
        "account": str(plan.account.sender), "server": f"{plan.server.host}:{plan.server.port}",
        "campaign": plan.campaign, "send_now": [item_json(item) for item in plan.items],
        "later": [item_json(item) for item in plan.later], "later_reason": plan.later_reason or None,
        "skipped": {reason: list(addresses) for reason, addresses in plan.skipped.items() if addresses},
        "notes": plan.notes, "mailbox": plan.mailbox or None,
        "uncertain": [{"address": row.address, "line": row.contact_line, "message_id": row.message_id}
                      for row in plan.uncertain],
        "pacing": {"per_minute": None if pacing.rate == UNLIMITED else pacing.rate, "jitter_seconds": pacing.jitter,
                   "daily_cap": pacing.cap, "used_last_24h": plan.window_used,
                   "cap_resumes_at": iso(plan.cap_resume) if plan.cap_resume else None},
        "estimate_seconds": round(plan.estimate_seconds(), 1) if plan.items else 0,
        "save_sent": plan.account.save_sent, "summary": tally_json(plan.tally),
    }


def result_json(result) -> dict:
    def listed(rows, key):
        return [{**item_json(item), key: detail or None} for item, detail in rows]

    copies = result.sent_copies
    return {
        "sent": listed(result.sent, "refused_recipients"), "failed": listed(result.failed, "reply"),
        "deferred": listed(result.deferred, "reply"), "uncertain": listed(result.uncertain, "reply"),
        "held": listed(result.held, "reason"),
        "not_reached": result.not_reached, "interrupted": result.interrupted, "stopped": result.stopped,
        "seconds": round(result.seconds, 1),
        "sent_copies": None if copies is None else {"folder": copies.folder, "saved": copies.saved,
                                                    "wanted": copies.wanted, "error": copies.error},
    }


def send_json(session, result, rows: list[dict], *, dry_run: bool = False) -> dict:
    """`send --json`: the plan, what happened (None on a dry run, or when nothing was sent), the rows' problems."""
    return {"campaign": session.plan.campaign, "dry_run": dry_run,
            "plan": plan_json(session.plan), "result": None if result is None else result_json(result),
            "rows": rows}
