"""多地联办: a matter handled as steps, each owned by the office of another locality, under one acceptance.

The catalogue (config/data/matters.yaml) gives a joint matter its `steps`; each names the division the case
records that chooses its office (`owner`), what it takes from the materials or from earlier steps, what it
produces, its promised working days and the steps it follows (`after`; steps with the same predecessors
run side by side). Plain rules: imports nothing but the standard library.
"""
from __future__ import annotations

from dataclasses import dataclass

# which division of the case chooses a step's office (with the step's department and level)
OWNERS = {"household": "申请人户籍地", "subject": "办理事项所在地（迁入地、转入地）",
          "origin": "迁出地、转出地", "registration": "单位登记地"}
# what a step produces, and how it reaches the next step's office
OUTPUT_KINDS = {"document": "文书", "archive": "档案", "decision": "决定"}
TRAVELS = {"file": "电子文件", "paper": "纸质寄递", "none": "不流转"}


class StepError(ValueError):
    """A catalogue entry whose steps cannot run (a test reads every matter's steps)."""


@dataclass(frozen=True)
class Output:
    code: str
    name: str
    kind: str = "document"
    travels: str = "file"

    @property
    def paper(self) -> bool:
        return self.travels == "paper"


@dataclass(frozen=True)
class Step:
    code: str
    name: str
    place: str                  # 迁入地, 迁出地, 转出地 … as the applicant reads it
    owner: str                  # a key of OWNERS
    department: str
    level: str
    promised_days: int
    after: tuple[str, ...] = ()
    takes: tuple[str, ...] = ()     # material codes, or "step.output" of an earlier step
    produces: tuple[Output, ...] = ()
    legal_basis: str = ""
    done_text: str = ""         # the timeline's words when the step is done: 已开具迁移证

    def output(self, code: str) -> Output | None:
        return next((o for o in self.produces if o.code == code), None)


def parse_steps(raw: list[dict] | None, *, department: str, level: str) -> tuple[Step, ...]:
    """A matter's steps from the catalogue, checked: known owners and kinds, predecessors listed before
    their followers (so the order is one that can run), inputs that earlier steps produce."""
    steps: list[Step] = []
    for item in raw or []:
        code = item["code"]
        after = tuple(item.get("after") or ())
        if item.get("owner") not in OWNERS:
            raise StepError(f"step {code}: owner {item.get('owner')!r} is not one of {sorted(OWNERS)}")
        known = {s.code for s in steps}
        if code in known or any(a not in known for a in after):
            raise StepError(f"step {code}: repeated, or follows a step not listed before it: {after}")
        produces = tuple(Output(o["code"], o["name"], o.get("kind", "document"), o.get("travels", "file"))
                         for o in item.get("produces") or [])
        for o in produces:
            if o.kind not in OUTPUT_KINDS or o.travels not in TRAVELS:
                raise StepError(f"step {code}: output {o.code} has kind {o.kind!r} or travels {o.travels!r}")
        takes = tuple(item.get("takes") or ())
        for need in takes:
            source, _, output = need.partition(".")
            if output and not any(s.code == source and s.output(output) for s in steps):
                raise StepError(f"step {code}: takes {need}, which no earlier step produces")
        days = int(item["promised_days"])
        if days < 1:
            raise StepError(f"step {code}: promised_days must be at least 1")
        steps.append(Step(code=code, name=item["name"], place=item.get("place", ""), owner=item["owner"],
                          department=item.get("department", department), level=item.get("level", level),
                          promised_days=days, after=after, takes=takes, produces=produces,
                          legal_basis=item.get("legal_basis", ""), done_text=item.get("done_text", "")))
    return tuple(steps)


def finish_days(steps: tuple[Step, ...]) -> dict[str, int]:
    """Working days from the acceptance to the end of each step, along its longest chain of predecessors."""
    ends: dict[str, int] = {}
    for step in steps:  # predecessors come first (parse_steps checks it)
        ends[step.code] = max((ends[a] for a in step.after), default=0) + step.promised_days
    return ends


def chain_days(steps: tuple[Step, ...]) -> int:
    """The promise of a joint case: the sum of promised days along the longest chain of steps."""
    return max(finish_days(steps).values(), default=0)


def startable(steps: tuple[Step, ...], done: set[str], started: set[str]) -> list[Step]:
    """The steps not started yet whose predecessors are all done."""
    return [s for s in steps if s.code not in started and all(a in done for a in s.after)]


def last_steps(steps: tuple[Step, ...]) -> set[str]:
    """The steps nothing follows: the case is decided when the last of them is."""
    followed = {a for s in steps for a in s.after}
    return {s.code for s in steps if s.code not in followed}


def paper_inputs(steps: tuple[Step, ...], step: Step) -> list[tuple[str, Output]]:
    """(producing step, output) of every paper `step` waits for: it starts on their arrival."""
    by_code = {s.code: s for s in steps}
    found = []
    for need in step.takes:
        source, _, output = need.partition(".")
        made = by_code[source].output(output) if output and source in by_code else None
        if made is not None and made.paper:
            found.append((source, made))
    return found
