// Deliberately against the layering: pipeline/ code including a model/ header (LibTorch). It must
// not compile — r1_pipeline exposes no model/ folder (cmake/R1Targets.cmake, r1_expose_folders).
// Built only by the CTest "layering_check", which expects exactly that failure.
#include "model/transformer.h"
