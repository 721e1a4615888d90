// A file in a layer's folder that layers.cmake does not place.
