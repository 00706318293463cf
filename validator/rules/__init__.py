"""Rules as data: the frozen model, the loader, the static analysis and the compiler to ibis."""
