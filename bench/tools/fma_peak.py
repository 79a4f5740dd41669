"""The measured FMA peak of one core (bench/tools/fma_peak.cpp), for the benches' "% of peak".

The nominal clock in /proc/cpuinfo understates the peak on machines that boost (this project's
2-core AMD EPYC VM reports 2445 MHz, i.e. 78 GFLOP/s at 32 FLOP/cycle, and runs FMAs at 91–93),
so a percentage against it flatters the code. The program is compiled once into OUT_DIR with
-march=native, like innmf: on a machine whose kernels run 16 lanes (AVX-512) it measures 16-lane
FMAs (222 GFLOP/s on a Zen 5 core, 111 with 8 lanes).
"""
import os
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


def measured_fma_peak(out_dir):
    """GFLOP/s of one core (fp32 FMA on the widest registers -march=native gives, AVX-512 or
    AVX2; best of 5 runs), or None without a compiler or AVX2."""
    compiler = shutil.which("g++") or shutil.which("c++")
    if compiler is None:
        return None
    os.makedirs(out_dir, exist_ok=True)
    binary = os.path.join(out_dir, "fma_peak")
    source = os.path.join(HERE, "fma_peak.cpp")
    if not os.path.exists(binary) or os.path.getmtime(binary) < os.path.getmtime(source):
        built = subprocess.run([compiler, "-O2", "-march=native", source, "-o", binary],
                               capture_output=True, text=True)
        if built.returncode != 0:
            return None
    ran = subprocess.run([binary], capture_output=True, text=True)
    if ran.returncode != 0:  # e.g. no AVX2 on this CPU (illegal instruction)
        return None
    return float(ran.stdout.split()[0])
