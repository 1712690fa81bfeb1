// Umbrella header for users. Library files include what they use instead.
#pragma once

#include "torchinit/distribution.h"
#include "torchinit/gain.h"
#include "torchinit/init.h"
#include "torchinit/initializer.h"
#include "torchinit/layout.h"
#include "torchinit/random.h"
#include "torchinit/registry.h"
#include "torchinit/spec.h"
