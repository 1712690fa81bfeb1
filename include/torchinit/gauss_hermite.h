// Gaussian expectations by Gauss–Hermite quadrature (Golub & Welsch 1969; nodes by Newton's
// method on the Hermite recurrence, Press et al., Numerical Recipes §4.6).
#pragma once

#include <functional>

namespace torchinit {

// E[f(Z)], Z ~ N(0, 1), with `nodes` Gauss–Hermite nodes: exact for polynomials of degree
// < 2·nodes; for smooth f the error falls geometrically, for f with a kink, slowly (use a closed
// form there). Nodes in [1, 180]: past that the recurrence underflows in double.
double gaussian_expectation(const std::function<double(double)>& f, int nodes = 128);

}  // namespace torchinit
