// The video player: the signed HLS playlist through hls.js (or the browser's own HLS),
// and storyboard scrubbing: the WebVTT map names a sprite tile per time range; moving
// the range input shows that tile, letting go seeks there.
(function () {
  "use strict";
  const box = document.querySelector(".player[data-master]");
  if (!box) return;
  const video = box.querySelector("video");
  const master = box.dataset.master;

  if (window.Hls && window.Hls.isSupported()) {
    const hls = new window.Hls({ enableWorker: true });
    hls.loadSource(master);
    hls.attachMedia(video);
    window.vitrinaPlayer = hls;
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = master;
  }

  const scrubber = document.getElementById("scrubber");
  const tile = document.getElementById("scrub-tile");
  const map = box.dataset.storyboard;
  if (!scrubber || !tile || !map) return;

  function seconds(text) {
    const parts = text.trim().split(":").map(Number);
    return parts.reduce((total, part) => total * 60 + part, 0);
  }

  function parse(vtt, base) {
    const cues = [];
    const blocks = vtt.split(/\r?\n\r?\n/);
    for (const block of blocks) {
      const lines = block.trim().split(/\r?\n/);
      const timing = lines.findIndex((line) => line.includes("-->"));
      if (timing < 0 || !lines[timing + 1]) continue;
      const [start, end] = lines[timing].split("-->").map(seconds);
      const [file, fragment] = lines[timing + 1].trim().split("#xywh=");
      const [x, y, w, h] = (fragment || "0,0,0,0").split(",").map(Number);
      cues.push({ start, end, url: new URL(file, base).href, x, y, w, h });
    }
    return cues;
  }

  fetch(map).then((r) => r.text()).then((text) => {
    const cues = parse(text, new URL(map, window.location.href));
    if (!cues.length) return;
    scrubber.max = String(cues[cues.length - 1].end);
    const show = () => {
      const t = Number(scrubber.value);
      const cue = cues.find((c) => t >= c.start && t < c.end) || cues[cues.length - 1];
      tile.hidden = false;
      tile.style.width = cue.w + "px";
      tile.style.height = cue.h + "px";
      tile.style.backgroundImage = "url(" + cue.url + ")";
      tile.style.backgroundPosition = -cue.x + "px " + -cue.y + "px";
    };
    scrubber.addEventListener("input", show);
    scrubber.addEventListener("change", () => { video.currentTime = Number(scrubber.value); });
    video.addEventListener("timeupdate", () => {
      if (document.activeElement !== scrubber) scrubber.value = String(video.currentTime);
    });
  });
})();
