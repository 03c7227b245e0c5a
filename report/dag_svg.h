// The stage DAG as inline SVG: one box per stage, coloured by its state, in columns by depth
// (a stage sits one column right of its deepest dependency), with an arrow per dependency.
#ifndef R1_REPORT_DAG_SVG_H_
#define R1_REPORT_DAG_SVG_H_

#include <string>
#include <vector>

namespace r1 {

struct DagBox {
  std::string name;
  std::vector<std::string> depends_on;  // names of other boxes; unknown names are ignored
  // "pending", "running", "succeeded", "failed" pick the colour; anything else is grey.
  std::string state;
  std::vector<std::string> lines;  // up to two short lines under the name (type, state, time)
};

// The fill colour of a state, e.g. "#dafbe1" for "succeeded".
std::string StateFill(const std::string& state);

// An <svg class="dag"> element; `boxes` in topological order (dependencies first). Each box is a
// <g class="stage" data-stage="NAME"> holding a <rect>; each arrow is a <path class="edge">.
std::string RenderDagSvg(const std::vector<DagBox>& boxes);

}  // namespace r1

#endif  // R1_REPORT_DAG_SVG_H_
