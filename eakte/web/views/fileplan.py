"""The file plan (Aktenplan) as a tree: codes, titles, retention and disposal; each node opens its cases."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, render_template
from flask_babel import gettext as _

from eakte.models import FilePlanNode
from eakte.services import fileplan
from eakte.web.auth import login_required
from eakte.web.runtime import runtime

bp = Blueprint("fileplan", __name__)


@dataclass
class TreeNode:
    node: FilePlanNode
    children: list[TreeNode] = field(default_factory=list)


def as_tree(nodes: list[FilePlanNode]) -> list[TreeNode]:
    """Nest the plan by its parent links (the service names each node's nearest existing ancestor)."""
    by_id = {n.id: TreeNode(n) for n in nodes}
    roots: list[TreeNode] = []
    for n in nodes:  # in code order, so children keep that order too
        parent = by_id.get(n.parent_id) if n.parent_id else None
        (parent.children if parent else roots).append(by_id[n.id])
    return roots


@bp.get("/file-plan")
@login_required
def index() -> str:
    tree = as_tree(fileplan.file_plan(runtime()))
    return render_template("fileplan/index.html", tree=tree, breadcrumbs=[(_("Aktenplan"), None)])
