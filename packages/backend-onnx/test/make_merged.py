"""Wraps a standard-layout ONNX decoder into an older Optimum-style merged export (test helper).

    python make_merged.py IN OUT [--cond NAME] [--rename-outputs]

OUT takes an extra boolean input `use_cache_branch` (or NAME) and computes every output in one
`If` on it: `then_branch` is IN's graph (with past), `else_branch` a copy. As in Optimum's merged
exports, the large weights live in the outer graph (shared by both branches, referenced by name from
the subgraphs) and branch outputs keep the outer output names; small initializers stay in the
branches (`--rename-outputs`: the branches name their outputs `NAME__branch`). The outer
graph also gets a Constant used only by the else branch, which prepare drops.
"""
import argparse
import copy

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--cond", default="use_cache_branch")
    ap.add_argument("--rename-outputs", action="store_true")
    a = ap.parse_args()
    m = onnx.load(a.src)
    g = m.graph
    outer = [t for t in g.initializer if int(np.prod(t.dims)) >= 64]
    inner = [t for t in g.initializer if int(np.prod(t.dims)) < 64]
    nodes, outs = list(g.node), list(g.output)
    if a.rename_outputs:
        rn = {o.name: o.name + "__branch" for o in g.output}
        nodes = [copy.deepcopy(n) for n in nodes]
        for n in nodes:
            n.input[:] = [rn.get(x, x) for x in n.input]
            n.output[:] = [rn.get(x, x) for x in n.output]
        outs = [copy.deepcopy(o) for o in g.output]
        for o in outs:
            o.name = rn[o.name]
    then_g = helper.make_graph(nodes, "with_past", [], outs, initializer=inner,
                               value_info=list(g.value_info))
    else_g = copy.deepcopy(then_g)
    else_g.name = "without_past"
    else_g.node.append(helper.make_node("Identity", ["else_only"], ["else_only_copy"], name="else_only_use"))
    cond = helper.make_tensor_value_info(a.cond, TensorProto.BOOL, [1])
    nodes = [
        helper.make_node("Constant", [], ["else_only"], name="else_only_const",
                         value=numpy_helper.from_array(np.array([2.0], np.float32))),
        helper.make_node("If", [a.cond], [o.name for o in g.output], name="optimum::if",
                         then_branch=then_g, else_branch=else_g),
    ]
    graph = helper.make_graph(nodes, g.name + "_merged", list(g.input) + [cond], list(g.output),
                              initializer=outer)
    merged = helper.make_model(graph, opset_imports=list(m.opset_import), producer_name="mnemo-test-merged")
    merged.ir_version = m.ir_version
    del merged.metadata_props[:]
    merged.metadata_props.extend(m.metadata_props)
    onnx.save_model(merged, a.dst)


if __name__ == "__main__":
    main()
