#pragma once
// Typed tests over the two forms, named Suite/ThreadForm.Case and Suite/ProcessForm.Case: CTest
// gives them their form: label from those names (tests/CMakeLists.txt).
//
//   template <class Form> class MySuite : public ::testing::Test {};
//   TYPED_TEST_SUITE(MySuite, hazardlab::testing::BothForms, hazardlab::testing::FormName);
#include "hazardlab/forms.hpp"

#include <gtest/gtest.h>

#include <string>
#include <type_traits>

namespace hazardlab::testing {

using BothForms = ::testing::Types<ThreadForm, ProcessForm>;

struct FormName {
  template <class Form>
  static std::string GetName(int) {
    return std::is_same_v<Form, ThreadForm> ? "ThreadForm" : "ProcessForm";
  }
};

// Value-parameterized tests over the forms as the command line spells them ("thread",
// "process") get the same names:
//   INSTANTIATE_TEST_SUITE_P(Lab, MySuite, ::testing::Values("thread", "process"), FormParamName);
inline std::string FormParamName(const ::testing::TestParamInfo<std::string>& info) {
  return info.param == "thread" ? "ThreadForm" : "ProcessForm";
}

// "thread" or "process", as the command line spells the form.
template <class Form>
std::string form_option() {
  return std::string(to_string(Form::kind));
}

} // namespace hazardlab::testing
