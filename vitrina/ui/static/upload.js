// Drag-and-drop uploads: each file goes to the tus endpoint (/v1/uploads) in resumable
// chunks, with its own progress; once stored, its tile joins the grid and follows the
// processing by itself (htmx polls the tile's fragment until the asset is ready).
(function () {
  "use strict";
  const zone = document.getElementById("dropzone");
  const input = document.getElementById("files");
  const list = document.getElementById("uploads");
  if (!zone || !input || !list || !window.tus) return;
  const csrf = document.body.dataset.csrfToken;
  const CHUNK = 8 * 1024 * 1024;

  function row(file) {
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.textContent = file.name;
    const state = document.createElement("span");
    state.className = "muted";
    state.textContent = "waiting";
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Uploading " + file.name);
    item.append(name, state, bar);
    list.prepend(item);
    return { item, state, bar };
  }

  function addTile(assetId) {
    const grid = document.getElementById("grid");
    if (!grid || document.getElementById("card-" + assetId)) return;
    const tile = document.createElement("li");
    tile.className = "card";
    tile.id = "card-" + assetId;
    tile.setAttribute("hx-get", "/ui/assets/" + assetId + "/card");
    tile.setAttribute("hx-trigger", "load");
    tile.setAttribute("hx-swap", "outerHTML");
    grid.prepend(tile);
    window.htmx.process(tile);
  }

  function send(file) {
    const view = row(file);
    let assetId = null;
    const upload = new window.tus.Upload(file, {
      endpoint: "/v1/uploads",
      chunkSize: CHUNK,
      retryDelays: [0, 1000, 3000, 5000],
      metadata: { filename: file.name, filetype: file.type },
      headers: { "X-CSRF-Token": csrf },
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      onProgress(sent, total) {
        const percent = total ? Math.floor((sent / total) * 100) : 0;
        view.bar.value = percent;
        view.state.textContent = percent + "%";
      },
      onAfterResponse(_request, response) {
        assetId = response.getHeader("Vitrina-Asset-Id") || assetId;
      },
      onError(error) {
        const body = error.originalResponse ? error.originalResponse.getBody() : "";
        let message = "upload failed";
        try { message = JSON.parse(body).error.message; } catch (_) { /* not our JSON */ }
        view.state.textContent = message;
        view.state.className = "error-text";
      },
      onSuccess() {
        view.bar.value = 100;
        view.state.textContent = "uploaded";
        view.item.dataset.assetId = assetId || "";
        if (assetId) addTile(assetId);
      },
    });
    upload.findPreviousUploads().then((previous) => {
      if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
      upload.start();
    });
  }

  function sendAll(files) {
    Array.from(files).forEach(send);
  }

  ["dragenter", "dragover"].forEach((type) => zone.addEventListener(type, (event) => {
    event.preventDefault();
    zone.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((type) => zone.addEventListener(type, () => zone.classList.remove("over")));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) sendAll(event.dataTransfer.files);
  });
  input.addEventListener("change", () => {
    sendAll(input.files);
    input.value = "";
  });
})();
