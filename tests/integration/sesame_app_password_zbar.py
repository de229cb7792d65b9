"""Decodes a QR code drawn in a terminal (not a test itself).

  sesame_app_password_zbar.py FILE [dark-filled]

FILE holds the drawing as the tool printed it: UTF-8 half blocks (light
modules filled, or with "dark-filled" dark ones) or ASCII ("##" dark). It is
turned into a PBM image and decoded with zbarimg; prints what it decodes to.
"""
import subprocess
import sys

dark_filled = sys.argv[2:] == ["dark-filled"]
text = open(sys.argv[1], encoding="utf-8").read().replace("\r\n", "\n")
lines = [line for line in text.split("\n") if line]
dark = []
if any("#" in line for line in lines):
    width = max(len(line) for line in lines)
    for line in lines:
        line = line.ljust(width)
        dark.append([line[i:i + 2] == "##" for i in range(0, len(line), 2)])
else:
    halves = {"\u2588": (1, 1), "\u2580": (1, 0), "\u2584": (0, 1), " ": (0, 0)}
    for line in lines:
        cells = [halves[c] for c in line]
        dark.append([bool(c[0]) == dark_filled for c in cells])
        dark.append([bool(c[1]) == dark_filled for c in cells])
    del dark[len(dark[0]):]  # the blank lower half below the quiet zone
scale = 4
with open(sys.argv[1] + ".pbm", "w") as f:
    w = len(dark[0])
    f.write("P1\n%d %d\n" % (w * scale, len(dark) * scale))
    for row in dark:
        line = " ".join("1" if d else "0" for d in row for _ in range(scale))
        for _ in range(scale):
            f.write(line + "\n")
print(subprocess.run(["zbarimg", "--raw", "-q", f.name], capture_output=True,
                     text=True).stdout.strip())
