"""A workflow is a package: nothing outside apps/agent/workflows/<name>/ branches on its step names.

The scan reads every module of apps/ (its syntax tree, not its text) for a step compared with a
step's name (`state.step == "negotiate"`, `step in ("identify", "wrap_up")`, `match step:`), or a
step's name forced onto a state (`state.step = "wrap_up"`): the workflow's own rules do that, in
its package, and the rest of the code asks the workflow (a Step's `act`, `money`, `say`, `tools`;
the workflow's `after_tool`, `on_system_down`, `shows_record`, `rules`).
"""

import ast
from pathlib import Path

from apps.agent.workflows import WORKFLOWS

ROOT = Path(__file__).resolve().parents[2]
APPS = ROOT / "apps"
STEP_NAMES = {step.name for workflow in WORKFLOWS.values() for step in workflow.steps}
PACKAGES = [APPS / "agent" / "workflows" / name for name in WORKFLOWS]


def _about_a_step(node: ast.expr) -> bool:
    """`step`, `state.step`, `call.current_step`, `session.state.step`, `step.name`..."""
    return "step" in ast.unparse(node).lower()


def _step_names(node: ast.AST) -> set[str]:
    """The step names a literal holds: a string, or a tuple, list or set of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value} & STEP_NAMES
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return set().union(*(_step_names(element) for element in node.elts)) if node.elts else set()
    return set()


def branching_on_step_names(source: str) -> list[tuple[int, str]]:
    """(line, code) of each comparison of a step with a step's name, and each step name forced."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_about_a_step(side) for side in sides) and any(_step_names(side) for side in sides):
                found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.Match) and _about_a_step(node.subject):
            for case in node.cases:
                for pattern in ast.walk(case.pattern):
                    if isinstance(pattern, ast.MatchValue) and _step_names(pattern.value):
                        found.append((pattern.lineno, f"case {ast.unparse(pattern.value)}"))
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            for target, value in _assigned(node.targets if isinstance(node, ast.Assign) else [node.target], node.value):
                if isinstance(target, ast.Attribute) and target.attr == "step" and _step_names(value):
                    found.append((node.lineno, ast.unparse(node)))
    return sorted(found)


def _assigned(targets: list[ast.expr], value: ast.expr) -> list[tuple[ast.expr, ast.expr]]:
    """(target, value) pairs, unpacking `a, b = x, y`."""
    pairs = []
    for target in targets:
        if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts):
            pairs += list(zip(target.elts, value.elts, strict=True))
        else:
            pairs.append((target, value))
    return pairs


def outside_the_packages() -> dict[str, list[tuple[int, str]]]:
    found = {}
    for path in sorted(APPS.rglob("*.py")):
        if any(path.is_relative_to(package) for package in PACKAGES) or "migrations" in path.parts:
            continue
        if hits := branching_on_step_names(path.read_text()):
            found[str(path.relative_to(ROOT))] = hits
    return found


def test_nothing_outside_a_workflows_package_branches_on_its_step_names():
    assert outside_the_packages() == {}


def test_the_scan_finds_each_way_of_branching_on_a_step_name():
    source = """
if state.step == "identify":
    pass
elif step in ("negotiate", "confirm_promise"):
    pass
if "wrap_up" != self.state.step:
    pass
match call.current_step:
    case "closed":
        pass
self.state.step, self.state.replies_in_step = "wrap_up", 0
"""
    assert [line for line, _ in branching_on_step_names(source)] == [2, 4, 6, 9, 11]


def test_the_scan_leaves_other_comparisons_and_step_lookups_alone():
    source = """
if breaker.state == "closed":
    pass
if name == "verify_identity":
    pass
step = workflow.step(state.step)
if state.step == first_step:
    pass
call.step = workflow.start["inbound"]
"""
    assert branching_on_step_names(source) == []
