// The status page's recent turns: each row's marks (embedded as JSON by
// the worker) drawn as the chat page draws them.
import { TIMELINE_CSS, timelineModel, timelineSvg } from "./timeline.js";

const data = document.getElementById("recent-turns-data");
const style = document.createElement("style");
style.textContent = TIMELINE_CSS;
document.head.append(style);
for (const [i, turn] of (data ? JSON.parse(data.textContent) : []).entries()) {
  const figure = document.querySelector(`[data-turn="${i}"]`);
  if (figure) figure.insertAdjacentHTML("afterbegin", timelineSvg(timelineModel(turn)));
}
