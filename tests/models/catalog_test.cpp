// The acceptance test of the model catalog: every entry loads, and the computed total and active
// parameter counts are within the entry's tolerance (2% unless the entry says why) of the published
// figures, counted the publisher's way (embeddings included or not).
#include <gtest/gtest.h>

#include <cmath>

#include "models/model_math.hpp"
#include "models/model_reader.hpp"

using namespace moesim;
using namespace moesim::model;

TEST(ModelCatalog, EveryEntryLoads) {
  auto names = catalog_model_names();
  ASSERT_GE(names.size(), 2u);
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    ModelSpec m;
    ASSERT_NO_THROW(m = load_catalog_model(name));
    EXPECT_EQ(m.name, name) << "name must match the file stem";
    EXPECT_FALSE(m.source.empty()) << "every entry cites its source";
    EXPECT_GT(m.experts, 0);
    EXPECT_GT(m.moe_layer_count(), 0);
    EXPECT_GT(count_params(m).total, 0);
  }
}

TEST(ModelCatalog, ParameterCountsMatchPublishedFigures) {
  int checked = 0;
  for (const auto& name : catalog_model_names()) {
    SCOPED_TRACE(name);
    ModelSpec m = load_catalog_model(name);
    ParamCounts c = count_params(m);
    EXPECT_LE(m.published_tolerance, 0.03) << "a tolerance above 3% would hide a wrong architecture";
    if (m.published_total_params > 0) {
      double got = count_as_published(c, m, false);
      EXPECT_NEAR(got / m.published_total_params, 1.0, m.published_tolerance)
          << "total: computed " << got / 1e9 << "B vs published " << m.published_total_params / 1e9 << "B";
      ++checked;
    }
    if (m.published_active_params > 0) {
      double got = count_as_published(c, m, true);
      EXPECT_NEAR(got / m.published_active_params, 1.0, m.published_tolerance)
          << "active: computed " << got / 1e9 << "B vs published " << m.published_active_params / 1e9 << "B";
      ++checked;
    }
  }
  EXPECT_GT(checked, 0);
}
