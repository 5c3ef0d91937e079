"""ganmap's study package: problems, models, losses, trainer, labeler, runner, CLI.

A seeded run gives the same numbers on every x86-64 machine with AVX2, not only on the
machine it first ran on: MKL (torch's CPU matrix products) otherwise picks its kernels by
the CPU, and AVX-512 kernels round differently, which a GAN's dynamics amplify into a
different label. `MKL_CBWR=AVX2` (MKL's conditional numerical reproducibility) pins the
AVX2 kernels: about as fast on 2 cores (bench/RESULTS.md). MKL reads the variable at its
first call, so setting it here, before any training, is in time; a value the user set is
kept (`MKL_CBWR=AUTO` lets MKL choose again).
"""

import os

os.environ.setdefault("MKL_CBWR", "AVX2")
