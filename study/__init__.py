"""ganmap's study package: problems, models, losses, trainer, labeler, runner, CLI.

MKL (torch's CPU matrix products) picks its kernels by the CPU, and AVX-512 kernels round
differently, which a GAN's dynamics amplify into a different label. `MKL_CBWR=AVX2`
(MKL's conditional numerical reproducibility) pins the AVX2 kernels, about as fast on 2
cores, so that a seeded run gives the same numbers on AVX2 machines and an AVX-512 AMD
EPYC; an Intel Xeon with AVX-512 and AMX still rounds apart from the EPYC
(bench/RESULTS.md), so bit for bit holds on one kind of processor. MKL reads the variable at its
first call, so setting it here, before any training, is in time; a value the user set is
kept (`MKL_CBWR=AUTO` lets MKL choose again).
"""

import os

os.environ.setdefault("MKL_CBWR", "AVX2")
