// Checks on the text the tests read back: SVG and HTML well-formed as XML, substrings counted.
#pragma once
#include <cstddef>
#include <string>

namespace toy::testing {

// "" when `xml` is a well-formed XML document with one root element (elements balanced, attributes quoted,
// '&' only in the five named entities or character references, no raw '<' in text or attribute values);
// otherwise a description of the first problem. Defined, and tested, in tests/test_svg.cpp.
std::string xml_problem(const std::string& xml);

// How many times `what` occurs in `s`, without overlaps.
inline size_t count(const std::string& s, const std::string& what) {
  size_t c = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + what.size())) ++c;
  return c;
}

}  // namespace toy::testing
