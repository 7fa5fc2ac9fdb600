// Checks on the text the tests read back: SVG and HTML well-formed as XML.
#pragma once
#include <string>

namespace toy::testing {

// "" when `xml` is a well-formed XML document with one root element (elements balanced, attributes quoted,
// '&' only in the five named entities or character references, no raw '<' in text or attribute values);
// otherwise a description of the first problem. Defined, and tested, in tests/test_svg.cpp.
std::string xml_problem(const std::string& xml);

}  // namespace toy::testing
