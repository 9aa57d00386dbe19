# SPDX-License-Identifier: BSD-3-Clause
"""Table 2 of the FreeNets paper, rerun: cells (:mod:`.run`), report
(:mod:`.report`) and figures (:mod:`.plots`). The command line is
``benchmarks/bench_table2.py``."""
