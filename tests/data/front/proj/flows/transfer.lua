return function(params, ctx) return {} end
