#include "store/generations.hpp"

#include <gtest/gtest.h>

namespace cachecar::store {
namespace {

using Kind = EraseTarget::Kind;

TEST(KeyPath, EndsAtTheQueryOrTheSecondaryKey) {
  EXPECT_EQ(key_path("GET:/a"), "GET:/a");
  EXPECT_EQ(key_path("GET:/a?x=1"), "GET:/a");
  EXPECT_EQ(key_path("GET:/a host=h"), "GET:/a");
  EXPECT_EQ(key_path("GET:/a?x=1 host=h"), "GET:/a");
}

TEST(Generations, ATokenStaysCurrentUntilItsPathIsErased) {
  Generations g;
  const auto token = g.token("GET:/users/1?fields=name");
  EXPECT_TRUE(g.current(token));
  g.erased({EraseTarget{Kind::PathAndVariants, "GET:/users/2"}});
  EXPECT_TRUE(g.current(token));  // another path (a different slot)
  g.erased({EraseTarget{Kind::PathAndVariants, "GET:/users/1"}});
  EXPECT_FALSE(g.current(token));  // the path, and so every query variant of it
  EXPECT_TRUE(g.current(g.token("GET:/users/1?fields=name")));
}

TEST(Generations, AnExactEraseOfAVariantMovesItsPath) {
  Generations g;
  const auto plain = g.token("GET:/users/1");
  g.erased({EraseTarget{Kind::Exact, "GET:/users/1?fields=name"}});
  EXPECT_FALSE(g.current(plain));  // coarser than needed, never finer
}

TEST(Generations, AHostVariantWatchesItsPath) {
  Generations g;
  const auto plain = g.token("GET:/users/1 host=a.example");
  const auto query = g.token("GET:/users/1?x=1 host=b.example");
  g.erased({EraseTarget{Kind::PathAndVariants, "GET:/users/1"}});
  EXPECT_FALSE(g.current(plain));
  EXPECT_FALSE(g.current(query));
}

TEST(Generations, PrefixErasesAndClearsMoveEveryTokenButAClearOfNoNamespaceDoesNot) {
  Generations g;
  const auto a = g.token("GET:/a");
  g.erased({EraseTarget{Kind::Prefix, "GET:/zzz/"}});
  EXPECT_FALSE(g.current(a));
  const auto b = g.token("GET:/b");
  g.cleared(std::string("users"));
  EXPECT_FALSE(g.current(b));
  const auto c = g.token("GET:/c");
  g.cleared(std::nullopt);
  EXPECT_FALSE(g.current(c));
  const auto d = g.token("GET:/d");
  g.cleared(std::string());  // names nothing (as the Redis store, which sends nothing)
  EXPECT_TRUE(g.current(d));
}

TEST(Generations, FillTokensAreCurrentOnlyForTheTableThatIssuedThemAndNeverWhenEmpty) {
  Generations g;
  const auto token = Generations::to_fill_token(g.token("GET:/a?x=1"));
  EXPECT_TRUE(g.current("GET:/a?x=1", token));
  EXPECT_TRUE(g.current("GET:/a host=h", token));  // same path, same generations
  EXPECT_FALSE(g.current("GET:/a", FillToken{}));
  g.bump_path("GET:/a");
  EXPECT_FALSE(g.current("GET:/a?x=1", token));
}

}  // namespace
}  // namespace cachecar::store
