"""The shape issue 16 gave the code, kept: no module of crm/ imports another in a cycle."""

import ast
from pathlib import Path

CRM = Path(__file__).resolve().parent.parent / "crm"


def _module_name(path: Path) -> str:
    parts = path.relative_to(CRM.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Each module's imports of other crm modules, wherever in the module they are written (the app
    factory's are left out: it imports the features to build the app, and nothing imports it back)."""
    modules = {_module_name(path): path for path in CRM.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        if name != "crm":
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    targets.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    submodules = {f"{node.module}.{alias.name}" for alias in node.names} & modules.keys()
                    # `from crm.x import y` imports the package crm.x, and y if y is a module.
                    targets.update(submodules or {node.module})
                    if len(submodules) < len(node.names):
                        targets.add(node.module)
        graph[name] = {target for target in targets if target in modules and target != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_another_in_a_cycle():
    assert _cycles(_import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _is_role(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "role") or (
        isinstance(node, ast.Name) and node.id == "role"
    )


def _names_roles(node: ast.AST) -> bool:
    """A role written out ("admin"), a list of them, or a constant of some of them (ADMIN_ROLES). `ROLES`, every
    role there is, only checks that a role exists, which is no permission question."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return True
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_names_roles(element) for element in node.elts)
    if isinstance(node, (ast.Name, ast.Attribute)):
        name = node.id if isinstance(node, ast.Name) else node.attr
        return name.endswith("ROLES") and name != "ROLES"
    return False


def _role_comparisons(source: str) -> list[int]:
    """Lines that decide something by a user's role, instead of asking crm/permissions.py."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_is_role(side) for side in sides) and any(_names_roles(side) for side in sides):
                found.append(node.lineno)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "in_"
            and _is_role(node.func.value)
            and any(_names_roles(argument) for argument in node.args)
        ):
            found.append(node.lineno)
    return found


def test_no_role_is_compared_outside_the_permissions_module():
    compared = {
        str(path.relative_to(CRM.parent)): lines
        for path in CRM.rglob("*.py")
        if path.name != "permissions.py" and (lines := _role_comparisons(path.read_text()))
    }
    assert compared == {}


def test_the_role_check_finds_each_way_of_comparing_a_role():
    source = (
        'user.role == "admin"\n'
        'role in ("admin", "manager")\n'
        "user.role not in COORDINATING_ROLES\n"
        'User.role.in_(("manager",))\n'
        "role != user.role\n"
        "role not in ROLES\n"
        'User.role.in_(roles_that_can("coordinate"))\n'
    )
    assert _role_comparisons(source) == [1, 2, 3, 4]
