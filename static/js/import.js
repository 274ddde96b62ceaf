// Drag and drop onto the upload zone; the file input keeps working without this.
(function () {
  const zone = document.getElementById("dropzone");
  if (!zone) return;
  const input = zone.querySelector("input[type=file]");
  const name = document.getElementById("dz-name");
  const show = () => { if (input.files.length) name.textContent = input.files[0].name + " (" + Math.ceil(input.files[0].size / 1024) + " KB)"; };
  input.addEventListener("change", show);
  ["dragenter", "dragover"].forEach((type) => zone.addEventListener(type, (event) => { event.preventDefault(); zone.classList.add("over"); }));
  ["dragleave", "drop"].forEach((type) => zone.addEventListener(type, () => zone.classList.remove("over")));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) { input.files = event.dataTransfer.files; show(); }
  });
})();
