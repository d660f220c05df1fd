# Lab 06: speed-up against workers, from threads-vs-processes --csv FILE.
#
#   gnuplot -e "csv='build/threads-vs-processes.csv'; outdir='build/plots'" labs/06-threads-vs-processes/plot.gp
#
# One panel per kind of work and GIL setting; in each, a line per form (thread, process) and the
# ideal speed-up: min(workers, cores) for cpu work; for waits (io, io-file), which overlap without a
# core each, the worker count. Beside each form's speed-up, dotted, the cores its workers really
# used (the CSV's cores_used: their CPU time over the wall time), on the same scale: a cpu speed-up
# cannot rise above the cores used, and on a busy machine the cores used stay below the dashed
# line of the cores available. If they did (as the lab's warning judges it), the title says so.
# Writes OUTDIR/speedup.png and OUTDIR/speedup.svg.
if (!exists("csv")) csv = 'build/threads-vs-processes.csv'
if (!exists("outdir")) outdir = 'build/plots'

set datafile separator ","
# The panels the CSV has ("cpu/off cpu/on io/off ..."), and the cores it was measured on.
panels = system("awk -F, 'NR > 1 { print $1 \"/\" $3 }' '" . csv . "' | sort -u | tr '\\n' ' '")
cores = real(system("awk -F, 'NR == 2 { print $6 }' '" . csv . "'"))
most = real(system("awk -F, 'NR > 1 && $5 > m { m = $5 } END { print m }' '" . csv . "'"))
scaling = system("awk -F, 'NR == 2 { printf \"%s\", $2 }' '" . csv . "'")
# The lab's busy-machine warning (main.cpp, tvp::busy_warning), from the same columns: among cpu
# rows with no GIL between the workers (not threads under one GIL) that ran 20 ms or more, the one
# whose cores used fell furthest below 0.8 of min(workers, cores). "" when none did.
busy = system("awk -F, 'NR > 1 && $1 == \"cpu\" && !($4 == \"thread\" && $3 == \"on\") && $7 >= 20 && $15 != \"\" " . \
              "{ could = $5 < $6 ? $5 : $6; share = $15 / could; if (share < 0.8 && (worst == \"\" || share < worst)) " . \
              "{ worst = share; got = $15; of = could } } END { if (worst != \"\") printf \"the machine was busy: the " . \
              "workers got %.1f of %d core%s; speed-ups are capped by that\", got, of, of == 1 ? \"\" : \"s\" }' '" . csv . "'")
n = words(panels)
if (n == 0) { print "plot.gp: no rows in " . csv; exit status 1 }
rows = int((n + 1) / 2)
columns = n > 1 ? 2 : 1

ideal(x) = x < cores ? x : cores
kind_of(p) = substr(p, 1, strstrt(p, "/") - 1)
gil_of(p) = substr(p, strstrt(p, "/") + 1, strlen(p))
pick(p, form) = (strcol(1) eq kind_of(p) && strcol(3) eq gil_of(p) && strcol(4) eq form) ? column(8) : 1/0
used(p, form) = (strcol(1) eq kind_of(p) && strcol(3) eq gil_of(p) && strcol(4) eq form) ? column(15) : 1/0

set xlabel "workers"
set ylabel "speed-up over one worker · cores used"
set xrange [0.8:most + 0.2]
set yrange [0:*]
set offsets 0, 0, 0.25, 0
set xtics 1
set key below center horizontal maxrows 3
set grid
set samples 400

do for [format in "pngcairo svg"] {
  if (format eq "svg") { set terminal svg size 520 * columns, 440 * rows dynamic font "sans,11"; set output outdir . "/speedup.svg" } \
  else { set terminal pngcairo size 520 * columns, 440 * rows font "sans,10"; set output outdir . "/speedup.png" }
  set multiplot layout rows, columns title sprintf("threads against processes: %s scaling on %d cores%s", scaling, cores, \
      busy eq "" ? "" : "\n" . busy)
  do for [i = 1:n] {
    p = word(panels, i)
    set title sprintf("%s work, GIL %s", kind_of(p), gil_of(p))
    plot csv using 5:(pick(p, "thread")) with linespoints lw 2 pt 7 lc 1 title "thread: speed-up", \
         csv using 5:(pick(p, "process")) with linespoints lw 2 pt 5 lc 2 title "process: speed-up", \
         csv using 5:(used(p, "thread")) with linespoints lw 1.5 dt 3 pt 6 lc 1 title "thread: cores used", \
         csv using 5:(used(p, "process")) with linespoints lw 1.5 dt 3 pt 4 lc 2 title "process: cores used", \
         (kind_of(p) eq "cpu" ? ideal(x) : x) with lines dt 2 lc "gray40" \
           title (kind_of(p) eq "cpu" ? "ideal = cores available: min(workers, cores)" : "ideal for waits: workers")
  }
  unset multiplot
  unset output
}
print "plot.gp: wrote " . outdir . "/speedup.png and " . outdir . "/speedup.svg"
