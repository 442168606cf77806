"""The benchmarks (`make bench`, bench/run.py). Each runs the product's code with the product's
process defaults: OpenMP's idle threads sleep soon (domain/openmp.py), set here before any
benchmark imports LightGBM or PyTorch."""
from domain.openmp import spin_briefly

spin_briefly()
