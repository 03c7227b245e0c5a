// Translation unit that owns the shared LibTorch precompiled header (see R1Targets.cmake).
